namespace Anshimi.Firmware.Hal
{
    /// <summary>Cryptographic randomness for nonces (the ESP32's hardware RNG with the radio on).</summary>
    public interface ISecureRandom
    {
        void Fill(byte[] buffer);
    }
}
