namespace Anshimi.Gateway.Tests.Supervision;

/// <summary>A virtual clock whose wall time and monotonic timestamps both move only by hand.</summary>
public sealed class SupervisionClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 3, 4, 21, 30, 0, TimeSpan.Zero);
    private long _timestamp = 1;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _timestamp;

    public void Advance(TimeSpan by)
    {
        _now += by;
        _timestamp += by.Ticks;
    }
}
