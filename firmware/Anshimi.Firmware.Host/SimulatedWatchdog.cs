using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A hardware watchdog on the simulated clock: unless fed within <see cref="TimeoutMs"/> it fires
/// <see cref="Expired"/> (the chip reset) and starts over, as it does after a real reset. Checks run on the clock's
/// scheduler, so a virtual clock fires it deterministically.
/// </summary>
public sealed class SimulatedWatchdog : IWatchdog
{
    private readonly ISchedulingClock _clock;
    private readonly Lock _lock = new();
    private long _lastFedMs;
    private bool _stopped;

    public SimulatedWatchdog(ISchedulingClock clock, int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timeoutMs);
        _clock = clock;
        TimeoutMs = timeoutMs;
        _lastFedMs = clock.MonotonicMs;
        clock.Schedule(_lastFedMs + timeoutMs, Check);
    }

    /// <summary>Raised on the clock's thread when the timeout passed without a feed.</summary>
    public event Action? Expired;

    public int TimeoutMs { get; }

    public int Expirations { get; private set; }

    public void Feed()
    {
        lock (_lock)
        {
            _lastFedMs = _clock.MonotonicMs;
        }
    }

    /// <summary>The chip lost power: the watchdog never fires again.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
        }
    }

    // One check is outstanding at a time: it runs when the last feed would expire and re-arms from the newest feed.
    private void Check()
    {
        long now = _clock.MonotonicMs;
        bool expired;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            expired = now - _lastFedMs >= TimeoutMs;
            if (expired)
            {
                _lastFedMs = now;
            }
        }

        if (expired)
        {
            Expirations++;
            Expired?.Invoke();
        }

        long due;
        lock (_lock)
        {
            due = _lastFedMs + TimeoutMs;
        }

        _clock.Schedule(due, Check);
    }
}
