namespace Anshimi.Firmware.Hal
{
    /// <summary>Randomness for retry jitter (not for keys): the ESP32's hardware RNG on the device.</summary>
    public interface IRandom
    {
        /// <summary>A value in [0, maxExclusive).</summary>
        int Next(int maxExclusive);
    }
}
