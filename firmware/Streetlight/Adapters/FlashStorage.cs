using System.IO;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>
    /// Records as files on the internal flash drive (I:, LittleFS on ESP32). A write goes to <c>name.new</c> first and
    /// then replaces the entry; a read that finds only <c>name.new</c> (power cut between the two steps) takes it,
    /// so a entry always holds the old or the new bytes, never a mix.
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
            string next = path + ".new";
            try
            {
                if (File.Exists(path))
                {
                    return ReadFile(path);
                }

                return File.Exists(next) ? ReadFile(next) : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        public bool Write(string name, byte[] data)
        {
            string path = Path.Combine(_directory, name);
            string next = path + ".new";
            try
            {
                using (var stream = new FileStream(next, FileMode.Create, FileAccess.Write))
                {
                    stream.Write(data, 0, data.Length);
                    stream.Flush();
                }

                File.Delete(path);
                File.Move(next, path);
                return true;
            }
            catch (System.Exception)
            {
                // IOException from the drive, or File.Move's plain Exception: the write failed, the old entry stands.
                return false;
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
                        break;
                    }

                    read += n;
                }

                return data;
            }
        }
    }
}
