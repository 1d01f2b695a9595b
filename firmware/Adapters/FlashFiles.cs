#nullable enable
using System.IO;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// The application slots and the download as files under <c>ota/</c> on the internal flash drive (I:, LittleFS on
    /// ESP32), beside the records of <see cref="FlashStorage"/>; plain System.IO, so the simulator and the tests run
    /// this same code on a real directory. Free space is the drive's size given by the board less what the files use:
    /// nanoFramework's file system reports no free space of its own.
    /// </summary>
    public sealed class FlashFiles : IFirmwareFiles
    {
        private readonly string _root;
        private readonly long _capacityBytes;

        public FlashFiles(string directory, long capacityBytes)
        {
            _root = Path.Combine(directory, "ota");
            _capacityBytes = capacityBytes;
            CreateDirectory(_root);
            CreateDirectory(Path.Combine(_root, "a"));
            CreateDirectory(Path.Combine(_root, "b"));
        }

        public long FreeBytes
        {
            get
            {
                long used = Used(_root) + Used(Path.Combine(_root, "a")) + Used(Path.Combine(_root, "b"));
                return _capacityBytes - used;
            }
        }

        public byte[]? Read(string path)
        {
            int length = Length(path);
            if (length < 0)
            {
                return null;
            }

            var data = new byte[length];
            return ReadAt(path, 0, data, length) ? data : null;
        }

        public int Length(string path)
        {
            string full = PathOf(path);
            try
            {
                if (!File.Exists(full))
                {
                    return -1;
                }

                using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read))
                {
                    return (int)stream.Length;
                }
            }
            catch (System.Exception)
            {
                return -1;
            }
        }

        public bool ReadAt(string path, int position, byte[] buffer, int count)
        {
            try
            {
                using (var stream = new FileStream(PathOf(path), FileMode.Open, FileAccess.Read))
                {
                    if (position + count > stream.Length)
                    {
                        return false;
                    }

                    stream.Seek(position, SeekOrigin.Begin);
                    int read = 0;
                    while (read < count)
                    {
                        int n = stream.Read(buffer, read, count - read);
                        if (n <= 0)
                        {
                            return false;
                        }

                        read += n;
                    }

                    return true;
                }
            }
            catch (System.Exception)
            {
                // IOException from the drive, or a plain Exception from the file system driver.
                return false;
            }
        }

        public bool WriteAt(string path, int position, byte[] data, int offset, int count)
        {
            try
            {
                using (var stream = new FileStream(PathOf(path), FileMode.OpenOrCreate, FileAccess.Write))
                {
                    stream.Seek(position, SeekOrigin.Begin);
                    stream.Write(data, offset, count);
                    stream.Flush();
                    return true;
                }
            }
            catch (System.Exception)
            {
                return false;
            }
        }

        public bool Write(string path, byte[] data)
        {
            try
            {
                using (var stream = new FileStream(PathOf(path), FileMode.Create, FileAccess.Write))
                {
                    stream.Write(data, 0, data.Length);
                    stream.Flush();
                    return true;
                }
            }
            catch (System.Exception)
            {
                return false;
            }
        }

        public void Delete(string path)
        {
            try
            {
                string full = PathOf(path);
                if (File.Exists(full))
                {
                    File.Delete(full);
                }
            }
            catch (System.Exception)
            {
                // A file that cannot be deleted is overwritten or ignored later: no slot is read without its manifest.
            }
        }

        private string PathOf(string path)
        {
            // Paths come from the loader ("a/manifest") and from signed manifests (".pe" names): one level at most.
            int slash = path.IndexOf('/');
            return slash < 0 ? Path.Combine(_root, path) : Path.Combine(Path.Combine(_root, path.Substring(0, slash)), path.Substring(slash + 1));
        }

        private static long Used(string directory)
        {
            long used = 0;
            string[] files = Directory.GetFiles(directory);
            for (int i = 0; i < files.Length; i++)
            {
                using (var stream = new FileStream(files[i], FileMode.Open, FileAccess.Read))
                {
                    used += stream.Length;
                }
            }

            return used;
        }

        private static void CreateDirectory(string directory)
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }
    }
}
