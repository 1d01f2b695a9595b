namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// Files of the application slots and the download on the device's flash drive (protocol/README.md §11.3), by
    /// path under the drive's <c>ota/</c> directory (<c>a/manifest</c>, <c>part</c>, …). Unlike
    /// <see cref="IDeviceStorage"/> a write is not atomic: the loader's record says which files are whole.
    /// </summary>
    public interface IFirmwareFiles
    {
        /// <summary>The whole file, or null when it does not exist or cannot be read.</summary>
        byte[]? Read(string path);

        /// <summary>Length of the file, or -1 when it does not exist.</summary>
        int Length(string path);

        /// <summary>Reads <paramref name="count"/> bytes at <paramref name="position"/>; false when fewer are there.</summary>
        bool ReadAt(string path, int position, byte[] buffer, int count);

        /// <summary>Writes bytes at <paramref name="position"/>, creating the file; false when the flash refused.</summary>
        bool WriteAt(string path, int position, byte[] data, int offset, int count);

        /// <summary>Replaces the whole file; false when the flash refused.</summary>
        bool Write(string path, byte[] data);

        /// <summary>Deletes the file if it exists.</summary>
        void Delete(string path);

        /// <summary>Bytes still free on the drive.</summary>
        long FreeBytes { get; }
    }
}
