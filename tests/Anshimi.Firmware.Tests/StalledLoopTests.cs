using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// Presses made while the bell's loop is held up by the network: the first tick publishes a heartbeat
/// to a broker that takes <c>stallMs</c> to answer, and the presses are scheduled on the virtual
/// clock inside that wait, as the pin interrupt would deliver them on the device.
/// </summary>
public sealed class StalledLoopTests
{
    private const long StallStartMs = BellRig.TickMs;

    [Fact]
    public void Deliberate_press_made_entirely_during_a_stall_raises_one_alarm_timed_from_the_press()
    {
        var rig = new BellRig(c => c.FailedAfterMs = 10_000);
        rig.Clock.Schedule(300, () => rig.Button.Press(1600));
        Stall(rig, 2000);
        Assert.Equal(0, rig.Bell.AlarmsRaised);

        rig.Run(BellRig.TickMs);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Equal(LedState.Sending, rig.Bell.LedState);

        // Deliberate at 300 + 1500 ms, so the Failed timer runs from there, not from the late tick.
        rig.RunUntil(11_790);
        Assert.Equal(LedState.Sending, rig.Bell.LedState);
        rig.RunUntil(11_800);
        Assert.Equal(LedState.Failed, rig.Bell.LedState);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Single(rig.Alarms.Select(f => f.Counter).Distinct());
    }

    [Fact]
    public void Short_press_made_during_a_stall_raises_nothing()
    {
        var rig = new BellRig();
        rig.Clock.Schedule(300, () => rig.Button.Press(1400));
        Stall(rig, 2000);
        rig.Run(5000);

        Assert.Equal(0, rig.Bell.AlarmsRaised);
        Assert.Empty(rig.Alarms);
        Assert.Equal(LedState.Idle, rig.Bell.LedState);
    }

    [Fact]
    public void Press_begun_during_a_stall_and_still_held_raises_once()
    {
        var rig = new BellRig();
        rig.Clock.Schedule(300, rig.Button.Hold);
        Stall(rig, 2000);

        rig.Run(BellRig.TickMs);
        Assert.Equal(1, rig.Bell.AlarmsRaised);

        rig.Run(10_000);
        rig.Button.Release();
        rig.Run(1000);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
    }

    [Fact]
    public void Bounce_queued_during_a_stall_is_ignored_and_a_bouncy_deliberate_press_counts_once()
    {
        var rig = new BellRig(c => c.PublishTimeoutMs = 3000);

        // 150 ms of contact chatter, never stable for the 30 ms debounce time.
        for (int t = 100; t < 250; t += 10)
        {
            rig.Clock.Schedule(t, rig.Button.Hold);
            rig.Clock.Schedule(t + 5, rig.Button.Release);
        }

        // Then a press of 1 s, a 5 ms dropout, and 1 s more: one deliberate press, bouncing at both ends.
        rig.Clock.Schedule(400, rig.Button.Hold);
        rig.Clock.Schedule(403, rig.Button.Release);
        rig.Clock.Schedule(406, rig.Button.Hold);
        rig.Clock.Schedule(1406, rig.Button.Release);
        rig.Clock.Schedule(1411, rig.Button.Hold);
        rig.Clock.Schedule(2400, rig.Button.Release);
        rig.Clock.Schedule(2403, rig.Button.Hold);
        rig.Clock.Schedule(2406, rig.Button.Release);
        Stall(rig, 3000);
        rig.Run(2000);

        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Equal(0, rig.Bell.DroppedButtonEdges);
    }

    [Theory]
    [InlineData(16, 4, 0)]
    [InlineData(3, 3, 1)]
    public void Several_presses_during_one_stall_each_raise_one_alarm_in_order(int maxPending, int raised, int refused)
    {
        var rig = new BellRig(c =>
        {
            c.PublishTimeoutMs = 10_000;
            c.MaxPendingAlarms = maxPending;
        });
        rig.Clock.Schedule(100, () => rig.Button.Press(1600));
        rig.Clock.Schedule(2000, () => rig.Button.Press(1600));
        rig.Clock.Schedule(4000, () => rig.Button.Press(1600));
        rig.Clock.Schedule(6000, () => rig.Button.Press(500));
        rig.Clock.Schedule(7000, () => rig.Button.Press(2000));
        Stall(rig, 10_000);
        rig.Run(BellRig.TickMs);

        Assert.Equal(raised, rig.Bell.AlarmsRaised);
        Assert.Equal(refused, rig.Bell.AlarmsRefused);
        uint[] counters = rig.Alarms.Select(f => f.Counter).ToArray();
        Assert.Equal(raised, counters.Length);
        Assert.Equal(Enumerable.Range((int)counters[0], raised).Select(c => (uint)c), counters);
    }

    [Fact]
    public void Edge_queue_overflow_is_counted_keeps_the_pin_level_and_the_bell_working()
    {
        var rig = new BellRig(c =>
        {
            c.PublishTimeoutMs = 10_000;
            c.MaxQueuedButtonEdges = 4;
        });
        for (int t = 100; t < 9000; t += 2000)
        {
            rig.Clock.Schedule(t, () => rig.Button.Press(1600));
        }

        rig.Clock.Schedule(9700, rig.Button.Hold);
        Stall(rig, 10_000);
        rig.Run(BellRig.TickMs);

        // Eleven edges into four slots: the first press is whole, the second runs into the final
        // hold, which the bell still sees as held.
        Assert.Equal(7, rig.Bell.DroppedButtonEdges);
        Assert.Equal(2, rig.Bell.AlarmsRaised);

        rig.Button.Release();
        rig.Run(1000);
        rig.Press();
        Assert.Equal(3, rig.Bell.AlarmsRaised);
        Assert.Equal(7, rig.Bell.DroppedButtonEdges);
    }

    [Fact]
    public void A_resend_round_shares_one_publish_timeout_so_a_slow_broker_holds_the_loop_once()
    {
        var rig = new BellRig();
        rig.Link.IsConnected = false;
        rig.Press();
        rig.Press();
        rig.Press();
        rig.Link.IsConnected = true;
        rig.Link.PublishDelayMs = 800;

        long before = rig.Clock.MonotonicMs;
        rig.Run(BellRig.TickMs);

        Assert.Equal(BellRig.TickMs + 2000, rig.Clock.MonotonicMs - before);
        Assert.Equal(new[] { 2000, 1200, 400 }, rig.Link.PublishTimeouts);
        Assert.Equal(2, rig.Alarms.Count());
    }

    [Fact]
    public void Press_under_way_when_the_bell_starts_counts_from_the_start()
    {
        var rig = new BellRig();
        rig.Button.Hold();
        rig.Reboot();

        rig.Run(1490);
        Assert.Equal(0, rig.Bell.AlarmsRaised);
        rig.Run(20);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
    }

    /// <summary>Runs the first tick, whose heartbeat waits <paramref name="stallMs"/> for the broker.</summary>
    private static void Stall(BellRig rig, int stallMs)
    {
        rig.Link.PublishDelayMs = stallMs;
        rig.Run(BellRig.TickMs);
        Assert.Equal(StallStartMs + stallMs, rig.Clock.MonotonicMs);
        Assert.Single(rig.Heartbeats);
        rig.Link.PublishDelayMs = 0;
    }
}
