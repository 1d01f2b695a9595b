namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// The device's BLE controller for legacy advertisements: it broadcasts one advertising payload at a
    /// time and reports what it hears while scanning. Connection-less on purpose: frames are signed,
    /// so any gateway in range may relay them.
    /// </summary>
    public interface IBleAdvertiser
    {
        /// <summary>Advertises the first <paramref name="length"/> bytes (AD structures, at most 31) every <paramref name="intervalMs"/> until stopped or replaced.</summary>
        void StartAdvertising(byte[] advertisingData, int length, int intervalMs);

        void StopAdvertising();

        void StartScanning();

        void StopScanning();

        /// <summary>Raised on the radio's own thread for every advertisement heard while scanning; handlers only copy and queue it.</summary>
        event AdvertisementReceivedHandler AdvertisementReceived;
    }
}
