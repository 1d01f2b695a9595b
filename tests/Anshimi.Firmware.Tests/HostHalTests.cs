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

    [Fact]
    public void Simulated_air_repeats_an_advertisement_at_its_interval_to_scanning_radios_until_it_stops()
    {
        var clock = new VirtualClock();
        var air = new SimulatedBleAir(clock);
        SimulatedBleRadio bell = air.CreateRadio("bell");
        SimulatedBleRadio gateway = air.CreateRadio("gateway", 10, 0);
        SimulatedBleRadio idle = air.CreateRadio("idle", 1, 0);
        var heard = new List<(long AtMs, int Rssi)>();
        var listened = new List<long>();
        gateway.AdvertisementReceived += (data, length, rssi) => heard.Add((clock.MonotonicMs, rssi));
        idle.AdvertisementReceived += (data, length, rssi) => Assert.Fail("a radio that does not scan hears nothing");
        air.Listen((_, data, length) => listened.Add(clock.MonotonicMs));
        gateway.StartScanning();

        byte[] advertisement = [2, 1, 6, 4, 0xFF, 0x4C, 0x00, 1];
        Assert.True(bell.Advertise(advertisement, advertisement.Length, 100));
        clock.Advance(250);
        int rssi = SimulatedBleAir.RssiAt(10);
        Assert.Equal(-79, rssi);
        Assert.Equal([(0L, rssi), (100L, rssi), (200L, rssi)], heard);
        Assert.Equal([0L, 100L, 200L], listened);
        Assert.Equal(advertisement, bell.Advertising);

        bell.StopAdvertising();
        clock.Advance(1000);
        Assert.Equal(3, heard.Count);
        Assert.Equal(3, listened.Count);
        Assert.Null(bell.Advertising);
        Assert.Equal(1, bell.AdvertisementsStarted);
        Assert.False(bell.Advertise(new byte[32], 32, 100), "longer than a legacy advertisement");
    }

    [Fact]
    public void Simulated_air_broadcast_reaches_each_scanning_radio_once_with_the_rssi_of_its_distance()
    {
        var clock = new VirtualClock();
        var air = new SimulatedBleAir(clock);
        SimulatedBleRadio near = air.CreateRadio("near", 2, 0);
        SimulatedBleRadio far = air.CreateRadio("far", 100, 0);
        var heard = new List<(string Radio, int Rssi)>();
        byte[] ack = [4, 0xFF, 0x4C, 0x00, 7];
        near.AdvertisementReceived += (data, length, rssi) =>
        {
            Assert.Equal(ack, data[..length]);
            heard.Add(("near", rssi));
        };
        far.AdvertisementReceived += (data, length, rssi) => heard.Add(("far", rssi));
        var listened = 0;
        air.Listen((_, data, length) => listened++);
        near.StartScanning();
        far.StartScanning();

        air.Broadcast(ack, ack.Length);
        clock.Advance(5000);

        Assert.Equal([("near", SimulatedBleAir.RssiAt(2)), ("far", SimulatedBleAir.RssiAt(100))], heard);
        Assert.Equal(0, listened);
    }

    [Fact]
    public void Simulated_watchdog_resets_after_its_timeout_unless_fed_and_starts_over_until_stopped()
    {
        var clock = new VirtualClock();
        var watchdog = new SimulatedWatchdog(clock, 1000);
        var resets = new List<long>();
        watchdog.Expired += () => resets.Add(clock.MonotonicMs);

        for (int i = 0; i < 5; i++)
        {
            clock.Advance(900);
            watchdog.Feed();
        }

        Assert.Empty(resets);

        // Last fed at 4500: a reset at 5500, and another a timeout later while nobody feeds it.
        clock.Advance(2500);
        Assert.Equal([5500L, 6500L], resets);
        Assert.Equal(2, watchdog.Expirations);

        watchdog.Stop();
        clock.Advance(10_000);
        Assert.Equal(2, watchdog.Expirations);
    }
}
