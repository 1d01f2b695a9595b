namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// One advertisement heard while scanning: the raw advertising data (AD structures, at most 31 bytes in
    /// <paramref name="data"/>[0..<paramref name="length"/>)) and its signal strength. The buffer may be reused by the
    /// radio after the call returns: handlers copy what they keep.
    /// </summary>
    public delegate void AdvertisementReceivedHandler(byte[] data, int length, int rssiDbm);

    /// <summary>
    /// A Bluetooth LE radio that advertises one legacy, non-connectable advertisement and scans for others
    /// (protocol/README.md §7). Calls return at once; the radio repeats the advertisement on its own interval.
    /// </summary>
    public interface IBleRadio
    {
        /// <summary>Raised on the radio's own thread for each advertisement heard while scanning; handlers only queue it.</summary>
        event AdvertisementReceivedHandler AdvertisementReceived;

        /// <summary>Starts advertising <paramref name="data"/>[0..<paramref name="length"/>), replacing what was advertised; false when the radio refused.</summary>
        bool Advertise(byte[] data, int length);

        void StopAdvertising();

        /// <summary>Starts scanning (passive); false when the radio refused.</summary>
        bool StartScanning();

        void StopScanning();
    }
}
