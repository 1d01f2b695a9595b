#nullable enable
using System.IO;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// Records as files on the internal flash drive (I:, LittleFS on ESP32), shared by every device app and
    /// compiled on the host by its tests. A write goes to <c>name.new</c> first and then replaces the entry. A power
    /// cut between the two steps leaves only <c>name.new</c>: it is promoted back to the entry before anything
    /// reads or overwrites it, so an entry always holds the old or the new bytes, never a mix and never nothing.
    /// </summary>
    public sealed class FlashStorage : IDeviceStorage
    {
        private readonly string _directory;

        public FlashStorage(string directory)
        {
            _directory = directory;
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        public byte[]? Read(string name)
        {
            string path = Path.Combine(_directory, name);
            try
            {
                Recover(path);
                return File.Exists(path) ? ReadFile(path) : null;
            }
            catch (System.Exception)
            {
                // IOException from the drive, or a plain Exception from the file system driver.
                return null;
            }
        }

        public bool Write(string name, byte[] data)
        {
            string path = Path.Combine(_directory, name);
            string next = path + ".new";
            try
            {
                // Writing .new over the only surviving copy would risk losing both.
                Recover(path);
                using (var stream = new FileStream(next, FileMode.Create, FileAccess.Write))
                {
                    stream.Write(data, 0, data.Length);
                    stream.Flush();
                }

                if (File.Exists(path))
                {
                    File.Delete(path);
                }

                File.Move(next, path);
                return true;
            }
            catch (System.Exception)
            {
                // IOException from the drive, or File.Move's plain Exception: the write failed, the old entry stands.
                return false;
            }
        }

        private static void Recover(string path)
        {
            string next = path + ".new";
            if (!File.Exists(path) && File.Exists(next))
            {
                File.Move(next, path);
            }
        }

        private static byte[] ReadFile(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read))
            {
                var data = new byte[(int)stream.Length];
                int read = 0;
                while (read < data.Length)
                {
                    int n = stream.Read(data, read, data.Length - read);
                    if (n <= 0)
                    {
                        throw new IOException("entry shorter than its length");
                    }

                    read += n;
                }

                return data;
            }
        }
    }
}
