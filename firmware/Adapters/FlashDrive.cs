namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// Where the device keeps its records and application slots: the internal drive I:, which nanoFramework's ESP32
    /// builds mount on the <c>config</c> LittleFS partition — 256 KiB in the 4 MB partition table
    /// (nanoframework/nf-interpreter, <c>targets/ESP32/_IDF/esp32/partitions_nanoclr_4mb.csv</c>). The file system
    /// reports no free space of its own, so <see cref="FlashFiles"/> is given that size.
    /// </summary>
    public static class FlashDrive
    {
        public const string Directory = "I:\\anshimi";

        public const long Bytes = 0x40000;
    }
}
