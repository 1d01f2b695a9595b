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
    /// (protocol/README.md §7): a bell's alarm bursts and check-ins, a streetlight's beacon, and the gateway's acks
    /// and commands they hear. Connection-less on purpose: frames are signed, so any gateway in range may relay them.
    /// Calls return at once; the radio repeats the advertisement on its own until it is replaced or stopped.
    /// </summary>
    public interface IBleRadio
    {
        /// <summary>Raised on the radio's own thread for each advertisement heard while scanning; handlers only queue it.</summary>
        event AdvertisementReceivedHandler AdvertisementReceived;

        /// <summary>
        /// Starts advertising <paramref name="data"/>[0..<paramref name="length"/>) every <paramref name="intervalMs"/>,
        /// replacing what was advertised; false when the radio refused. A radio whose stack does not let the interval
        /// be set uses its own.
        /// </summary>
        bool Advertise(byte[] data, int length, int intervalMs);

        void StopAdvertising();

        /// <summary>Starts scanning (passive); false when the radio refused.</summary>
        bool StartScanning();

        void StopScanning();
    }
}
