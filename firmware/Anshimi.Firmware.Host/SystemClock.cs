using System.Diagnostics;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The host's real clock: wall time in UTC and a monotonic stopwatch. Scheduled actions run on a
/// dedicated thread, not the thread pool, so a busy pool cannot make them late.
/// </summary>
public sealed class SystemClock : ISchedulingClock
{
    private readonly Stopwatch _monotonic = Stopwatch.StartNew();
    private readonly object _gate = new();
    private readonly PriorityQueue<Action, (long AtMs, long Order)> _due = new();
    private long _scheduled;
    private bool _running;

    public DateTime UtcNow => DateTime.UtcNow;

    public long MonotonicMs => _monotonic.ElapsedMilliseconds;

    public void Schedule(long atMonotonicMs, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_gate)
        {
            _due.Enqueue(action, (atMonotonicMs, _scheduled++));
            if (_running)
            {
                Monitor.Pulse(_gate);
                return;
            }

            _running = true;
        }

        new Thread(RunDue) { IsBackground = true, Name = "clock" }.Start();
    }

    // The thread ends when nothing is left to run and is started again by the next Schedule.
    private void RunDue()
    {
        while (true)
        {
            Action action;
            lock (_gate)
            {
                while (true)
                {
                    if (!_due.TryPeek(out _, out var next))
                    {
                        _running = false;
                        return;
                    }

                    long waitMs = next.AtMs - MonotonicMs;
                    if (waitMs <= 0)
                    {
                        break;
                    }

                    Monitor.Wait(_gate, (int)Math.Min(waitMs, int.MaxValue));
                }

                action = _due.Dequeue();
            }

            action();
        }
    }
}
