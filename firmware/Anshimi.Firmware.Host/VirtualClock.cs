namespace Anshimi.Firmware.Host;

/// <summary>
/// A clock that moves only when told to, for tests and deterministic simulations. Scheduled actions
/// run inside <see cref="Advance"/>, on the advancing thread, with the clock at their due time.
/// </summary>
public sealed class VirtualClock : ISchedulingClock
{
    private readonly DateTime _start;
    private readonly object _gate = new();
    private readonly PriorityQueue<Action, (long AtMs, long Order)> _due = new();
    private long _ms;
    private long _scheduled;

    public VirtualClock(DateTime startUtc)
    {
        _start = DateTime.SpecifyKind(startUtc, DateTimeKind.Utc);
    }

    public VirtualClock()
        : this(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc))
    {
    }

    public DateTime UtcNow => _start.AddMilliseconds(MonotonicMs);

    public long MonotonicMs => Interlocked.Read(ref _ms);

    public void Schedule(long atMonotonicMs, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_gate)
        {
            _due.Enqueue(action, (atMonotonicMs, _scheduled++));
        }
    }

    public void Advance(long ms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ms);
        long targetMs = MonotonicMs + ms;
        while (true)
        {
            Action action;
            lock (_gate)
            {
                if (!_due.TryPeek(out _, out var next) || next.AtMs > targetMs)
                {
                    MoveTo(targetMs);
                    return;
                }

                action = _due.Dequeue();
                MoveTo(next.AtMs);
            }

            action();
        }
    }

    // An action may advance the clock itself; time still never goes back.
    private void MoveTo(long ms)
    {
        if (ms > _ms)
        {
            Interlocked.Exchange(ref _ms, ms);
        }
    }
}
