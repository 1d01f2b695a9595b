using System.IO;
using Anshimi.Firmware.Hal;

namespace Anshimi.Bell.Device
{
    /// <summary>
    /// Device records as files on the internal flash drive (I:, littlefs on the ESP32 images): written to a
    /// temporary file, then renamed over the old one, so a power cut leaves the old or the new bytes.
    /// </summary>
    public sealed class FlashStorage : IDeviceStorage
    {
        private const string Root = "I:\\anshimi";

        public FlashStorage()
        {
            if (!Directory.Exists(Root))
            {
                Directory.CreateDirectory(Root);
            }
        }

        public byte[] Read(string name)
        {
            string path = PathOf(name);
            if (!File.Exists(path))
            {
                return null;
            }

            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read))
            {
                var data = new byte[stream.Length];
                int read = 0;
                while (read < data.Length)
                {
                    int n = stream.Read(data, read, data.Length - read);
                    if (n <= 0)
                    {
                        return null;
                    }

                    read += n;
                }

                return data;
            }
        }

        public bool Write(string name, byte[] data)
        {
            string path = PathOf(name);
            string temp = path + ".tmp";
            try
            {
                using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
                {
                    stream.Write(data, 0, data.Length);
                    stream.Flush();
                }

                if (File.Exists(path))
                {
                    File.Delete(path);
                }

                File.Move(temp, path);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }

        private static string PathOf(string name)
        {
            return Root + "\\" + name + ".bin";
        }
    }
}
