using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>A clock that moves only when told to, for tests and deterministic simulations.</summary>
public sealed class VirtualClock : IClock
{
    private readonly DateTime _start;
    private long _ms;

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

    public void Advance(long ms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ms);
        Interlocked.Add(ref _ms, ms);
    }
}
