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

        /// <summary>Sleeps until a wake pin reaches its level or <paramref name="durationMs"/> has passed.</summary>
        void EnterDeepSleep(long durationMs);
    }
}
