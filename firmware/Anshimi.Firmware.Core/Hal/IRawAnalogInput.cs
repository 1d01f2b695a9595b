namespace Anshimi.Firmware.Hal
{
    /// <summary>One ADC channel: a raw reading between 0 and <see cref="MaxRaw"/>.</summary>
    public interface IRawAnalogInput
    {
        int ReadRaw();

        int MaxRaw { get; }
    }
}
