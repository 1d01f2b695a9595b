using System.IO;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// Named records as files on the internal flash drive (I:). A write goes to a temporary file that then
    /// replaces the entry, so a power cut leaves the old or the new bytes, never a mix.
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

        public byte[] Read(string name)
        {
            string path = Path.Combine(_directory, name);
            try
            {
                return File.Exists(path) ? File.ReadAllBytes(path) : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        public bool Write(string name, byte[] data)
        {
            string path = Path.Combine(_directory, name);
            string temporary = path + ".new";
            try
            {
                File.WriteAllBytes(temporary, data);
                if (File.Exists(path))
                {
                    File.Delete(path);
                }

                File.Move(temporary, path);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }
}
