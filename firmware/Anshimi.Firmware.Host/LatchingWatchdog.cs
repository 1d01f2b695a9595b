using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A watchdog on a scheduling clock: if <see cref="Feed"/> is not called for the timeout it raises
/// <see cref="Expired"/> once (the host then restarts the device) and stays expired until
/// <see cref="Restart"/>. Checks run on the clock's scheduler, so a virtual clock fires it deterministically.
/// </summary>
public sealed class LatchingWatchdog : IWatchdog
{
    private readonly ISchedulingClock _clock;
    private readonly int _timeoutMs;
    private long _lastFedMs;
    private bool _expired;
    private int _generation;

    public LatchingWatchdog(ISchedulingClock clock, int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timeoutMs);
        _clock = clock;
        _timeoutMs = timeoutMs;
        Restart();
    }

    public event Action? Expired;

    public int Expirations { get; private set; }

    public void Feed() => Interlocked.Exchange(ref _lastFedMs, _clock.MonotonicMs);

    /// <summary>Arms it again after the restart it caused.</summary>
    public void Restart()
    {
        _expired = false;
        Feed();
        int generation = ++_generation;
        _clock.Schedule(_clock.MonotonicMs + _timeoutMs, () => Check(generation));
    }

    private void Check(int generation)
    {
        if (generation != _generation || _expired)
        {
            return;
        }

        long due = Interlocked.Read(ref _lastFedMs) + _timeoutMs;
        if (_clock.MonotonicMs >= due)
        {
            _expired = true;
            Expirations++;
            Expired?.Invoke();
            return;
        }

        _clock.Schedule(due, () => Check(generation));
    }
}

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
