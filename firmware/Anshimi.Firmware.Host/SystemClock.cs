using System.Diagnostics;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>The host's real clock: wall time in UTC and a monotonic stopwatch.</summary>
public sealed class SystemClock : IClock
{
    private readonly Stopwatch _monotonic = Stopwatch.StartNew();

    public DateTime UtcNow => DateTime.UtcNow;

    public long MonotonicMs => _monotonic.ElapsedMilliseconds;
}
