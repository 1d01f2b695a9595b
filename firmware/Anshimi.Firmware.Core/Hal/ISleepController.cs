namespace Anshimi.Firmware.Hal
{
    /// <summary>Why the device is running: how the last deep sleep ended, or a cold start.</summary>
    public enum WakeCause : byte
    {
        PowerOn = 0,
        Timer = 1,
        Button = 2,
        Tamper = 3,
    }

    /// <summary>
    /// Deep sleep of a battery device. Wake pins (panic button, tamper) are armed by the adapter from the
    /// pin map. On the device <see cref="EnterDeepSleep"/> does not return: the chip restarts on wake and
    /// everything it needs comes back from flash.
    /// </summary>
    public interface ISleepController
    {
        WakeCause WakeCause { get; }

        /// <summary>
        /// When the wake happened on <see cref="IClock.MonotonicMs"/>: 0 on the device, whose clock starts
        /// with the chip, so a press that woke it counts from the wake, not from when the program got going.
        /// </summary>
        long WokeAtMs { get; }

        /// <summary>Sleeps until a wake pin reaches its level or <paramref name="durationMs"/> has passed.</summary>
        void EnterDeepSleep(long durationMs);
    }
}
