using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A button pressed by scripts or the simulator's control API. Like the device's pin interrupt it
/// reports each change of level at once, stamped on the bell's clock; the end of a timed press is
/// stamped with the time it was due, however late the clock's scheduler gets to it.
/// </summary>
public sealed class SimulatedButton(ISchedulingClock clock) : IButtonInput
{
    private const long NoRelease = long.MinValue;

    private readonly object _gate = new();
    private bool _pressed;
    private bool _held;
    private long _releaseDueMs = NoRelease;

    public event ButtonChangedHandler? ButtonChanged;

    public bool IsPressed
    {
        get
        {
            lock (_gate)
            {
                return _pressed;
            }
        }
    }

    /// <summary>Presses now and lets go <paramref name="durationMs"/> later; a press already under way just lasts until then.</summary>
    public void Press(int durationMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(durationMs);
        long releaseMs;
        lock (_gate)
        {
            long now = clock.MonotonicMs;
            ReleaseIfDue(now);
            Change(true, now);
            releaseMs = now + durationMs;
            if (!_held)
            {
                _releaseDueMs = releaseMs;
            }
        }

        clock.Schedule(releaseMs, OnReleaseDue);
    }

    /// <summary>Presses until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            long now = clock.MonotonicMs;
            ReleaseIfDue(now);
            _held = true;
            _releaseDueMs = NoRelease;
            Change(true, now);
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            long now = clock.MonotonicMs;
            ReleaseIfDue(now);
            _held = false;
            _releaseDueMs = NoRelease;
            Change(false, now);
        }
    }

    private void OnReleaseDue()
    {
        lock (_gate)
        {
            ReleaseIfDue(clock.MonotonicMs);
        }
    }

    // An overdue release goes out before anything newer, stamped when it was due, so edges stay in time order.
    private void ReleaseIfDue(long now)
    {
        if (_releaseDueMs != NoRelease && now >= _releaseDueMs)
        {
            long dueMs = _releaseDueMs;
            _releaseDueMs = NoRelease;
            Change(false, dueMs);
        }
    }

    // Raised under the lock, so listeners see the edges in the order they happened.
    private void Change(bool pressed, long atMs)
    {
        if (pressed != _pressed)
        {
            _pressed = pressed;
            ButtonChanged?.Invoke(pressed, atMs);
        }
    }
}
