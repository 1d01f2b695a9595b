namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// One analog input as a fraction of its full scale, 0.0–1.0 (ambient light, lamp current, a battery through its
    /// divider). An adapter may do the signal work the quantity needs (the lamp current sensor returns the RMS of the
    /// AC signal around its midpoint), so the device logic only scales fractions or compares them with thresholds.
    /// </summary>
    public interface IAnalogInput
    {
        double Read();
    }
}
