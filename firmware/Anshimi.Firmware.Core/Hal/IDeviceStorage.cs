namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// Small named records in flash. A write is atomic: after a power cut the entry holds either the
    /// old or the new bytes, never a mix.
    /// </summary>
    public interface IDeviceStorage
    {
        /// <summary>The entry's bytes, or null when it was never written.</summary>
        byte[]? Read(string name);

        /// <summary>Replaces the entry; false when the flash refused the write.</summary>
        bool Write(string name, byte[] data);
    }
}
