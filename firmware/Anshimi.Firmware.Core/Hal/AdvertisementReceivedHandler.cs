namespace Anshimi.Firmware.Hal
{
    /// <summary>One advertisement heard while scanning: its AD structures and the signal strength in dBm. The buffer may be reused after the call.</summary>
    public delegate void AdvertisementReceivedHandler(byte[] advertisingData, int length, int rssi);
}
