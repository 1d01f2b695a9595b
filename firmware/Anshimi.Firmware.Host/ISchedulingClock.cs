using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A clock that also runs actions at a given <see cref="IClock.MonotonicMs"/>, apart from the bell's
/// loop, the way a pin interrupt or a hardware timer fires on the device.
/// </summary>
public interface ISchedulingClock : IClock
{
    /// <summary>Runs <paramref name="action"/> once the clock reaches <paramref name="atMonotonicMs"/>; actions due together run in the order they were scheduled.</summary>
    void Schedule(long atMonotonicMs, Action action);
}
