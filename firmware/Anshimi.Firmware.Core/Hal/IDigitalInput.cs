namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// A slow contact the bell polls every tick (lid tamper switch, mains-present sense). The adapter
    /// applies the pin's polarity from the pin map, so true always means the condition holds.
    /// </summary>
    public interface IDigitalInput
    {
        bool IsActive { get; }
    }
}
