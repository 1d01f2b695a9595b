using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// Deep sleep on the host: records the request and raises <see cref="SleepRequested"/>; the host keeps the
/// bell stopped and builds a new one (a restart, as on the chip) on the wake it chooses: button, tamper or timer.
/// </summary>
public sealed class SimulatedSleepController(WakeCause wakeCause = WakeCause.PowerOn, long wokeAtMs = 0) : ISleepController
{
    public WakeCause WakeCause { get; } = wakeCause;

    public long WokeAtMs { get; } = wokeAtMs;

    /// <summary>The duration of the sleep asked for, or null while awake.</summary>
    public long? RequestedSleepMs { get; private set; }

    public event Action<long>? SleepRequested;

    public void EnterDeepSleep(long durationMs)
    {
        RequestedSleepMs = durationMs;
        SleepRequested?.Invoke(durationMs);
    }
}
