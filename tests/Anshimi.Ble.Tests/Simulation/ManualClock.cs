namespace Anshimi.Ble.Tests.Simulation;

/// <summary>A time source that moves only when the test says so.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 3, 4, 21, 30, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
