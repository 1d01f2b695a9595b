using Anshimi.Firmware.Host;

namespace Anshimi.Firmware.Tests;

public sealed class HostHalTests
{
    [Fact]
    public void Simulated_press_reports_both_edges_stamped_when_they_happened()
    {
        var clock = new VirtualClock();
        var button = new SimulatedButton(clock);
        var edges = new List<(bool Pressed, long AtMs)>();
        button.ButtonChanged += (pressed, atMs) => edges.Add((pressed, atMs));

        clock.Advance(100);
        button.Press(250);
        Assert.True(button.IsPressed);
        clock.Advance(1000);
        Assert.False(button.IsPressed);
        Assert.Equal(new[] { (true, 100L), (false, 350L) }, edges);
    }

    [Fact]
    public void Pressing_again_before_the_release_extends_the_press_and_hold_outlasts_a_timed_press()
    {
        var clock = new VirtualClock();
        var button = new SimulatedButton(clock);
        var edges = new List<(bool Pressed, long AtMs)>();
        button.ButtonChanged += (pressed, atMs) => edges.Add((pressed, atMs));

        button.Press(300);
        clock.Advance(200);
        button.Press(300);
        clock.Advance(1000);
        Assert.Equal(new[] { (true, 0L), (false, 500L) }, edges);

        edges.Clear();
        button.Hold();
        button.Press(100);
        clock.Advance(1000);
        Assert.True(button.IsPressed);
        button.Release();
        Assert.Equal(new[] { (true, 1200L), (false, 2200L) }, edges);
    }

    [Fact]
    public void Virtual_clock_runs_scheduled_actions_in_time_order_at_their_due_time()
    {
        var clock = new VirtualClock();
        var seen = new List<(string Name, long AtMs)>();
        clock.Schedule(50, () => seen.Add(("c", clock.MonotonicMs)));
        clock.Schedule(20, () => seen.Add(("a", clock.MonotonicMs)));
        clock.Schedule(20, () => seen.Add(("b", clock.MonotonicMs)));

        clock.Advance(30);
        Assert.Equal(new[] { ("a", 20L), ("b", 20L) }, seen);
        clock.Advance(30);
        Assert.Equal(("c", 50L), seen[2]);
        Assert.Equal(60, clock.MonotonicMs);
    }

    [Fact]
    public void System_clock_runs_scheduled_actions_in_order_off_the_thread_pool()
    {
        var clock = new SystemClock();
        var seen = new List<string>();
        using var done = new ManualResetEventSlim();
        long now = clock.MonotonicMs;

        // Wide margins: on a loaded machine the test thread can stall between the calls below.
        clock.Schedule(now + 3000, () =>
        {
            seen.Add("c " + Thread.CurrentThread.IsThreadPoolThread);
            done.Set();
        });
        clock.Schedule(now + 1500, () => seen.Add("a"));
        clock.Schedule(now + 1500, () => seen.Add("b"));

        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(new[] { "a", "b", "c False" }, seen);
        Assert.True(clock.MonotonicMs >= now + 3000);
    }
}
