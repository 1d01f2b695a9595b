namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// The device's only source of time. Timing decisions use <see cref="MonotonicMs"/>, which never
    /// jumps when NTP corrects the wall clock; <see cref="UtcNow"/> is for stamping only.
    /// </summary>
    public interface IClock
    {
        System.DateTime UtcNow { get; }

        /// <summary>Milliseconds since an arbitrary start; never goes backwards.</summary>
        long MonotonicMs { get; }
    }
}
