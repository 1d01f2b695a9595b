using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>The battery bell: BLE only, alarm bursts until the gateway's ack, hourly check-ins, deep sleep.</summary>
public sealed class BatteryBellTests
{
    [Fact]
    public void Alarm_goes_out_as_a_burst_of_signed_advertisements_repeated_with_backoff()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        rig.Run(20_000);

        List<Frame> frames = rig.AdvertisedFrames();
        Assert.All(frames, f => Assert.Equal(FrameType.Alarm, f.Type));
        Assert.Single(frames.Select(f => f.Counter).Distinct());
        Assert.Equal(ContactIdCode.Panic, frames[0].EventCode);
        Assert.All(rig.Advertised, adv => Assert.Equal(3 + 4 + 22, adv.Length));

        // First burst at once, then 2 s, 4 s, 8 s after each burst ends.
        Assert.Equal(4, rig.Bell.AlarmBurstsSent);
        Assert.True(rig.Radio.IsScanning, "listens for the gateway's ack");
        Assert.False(rig.Bell.Asleep);
    }

    [Fact]
    public void Gateway_ack_in_a_flagless_advertisement_ends_the_bursts_and_the_bell_sleeps_until_its_check_in()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();
        uint counter = rig.AdvertisedFrames()[0].Counter;
        rig.BroadcastAck(counter, AckStage.Received);
        rig.Run(100);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(1, rig.Bell.Downlinks.AcksAccepted);
        int bursts = rig.Bell.AlarmBurstsSent;

        rig.Run(30_000);
        Assert.Equal(bursts, rig.Bell.AlarmBurstsSent);
        Assert.True(rig.Bell.Asleep);
        Assert.False(rig.Radio.IsScanning);
        Assert.InRange(rig.Sleep.RequestedSleepMs!.Value, 3_500_000, 3_600_000);
    }

    [Fact]
    public void Forged_replayed_and_foreign_acks_over_ble_are_refused_and_the_bursts_go_on()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();
        uint counter = rig.AdvertisedFrames()[0].Counter;

        rig.BroadcastAck(counter, AckStage.Received, key: new byte[32]);
        rig.Run(100);
        Assert.Equal(1, rig.Bell.Downlinks.RejectedForged);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);

        // A real ack, recorded and played back later for a new alarm: the counter is stale.
        rig.BroadcastAck(counter, AckStage.Received, downlinkCounter: 7);
        rig.Run(100);
        rig.Press();
        uint second = rig.AdvertisedFrames().Max(f => f.Counter);
        rig.BroadcastAck(second, AckStage.Received, downlinkCounter: 6);
        rig.Run(100);
        Assert.Equal(1, rig.Bell.Downlinks.RejectedReplayed);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);

        int bursts = rig.Bell.AlarmBurstsSent;
        rig.Run(10_000);
        Assert.True(rig.Bell.AlarmBurstsSent > bursts);
    }

    [Fact]
    public void Unanswered_alarm_survives_deep_sleep_and_goes_out_again_with_the_same_counter()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();
        uint counter = rig.AdvertisedFrames()[0].Counter;
        rig.Run(50_000);
        Assert.True(rig.Bell.Asleep, "stays awake bursting only for a while");
        Assert.InRange(rig.Sleep.RequestedSleepMs!.Value, 1, 60_000);

        rig.Advertised.Clear();
        rig.SleepUntilTimer();
        rig.Run(100);
        Assert.Equal(counter, rig.AdvertisedFrames().Single().Counter);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
    }

    [Fact]
    public void Out_of_every_gateways_reach_the_retries_back_off_across_wakes_and_each_wake_is_short()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();
        rig.Run(50_000);
        var sleeps = new List<long>();
        for (int wake = 0; wake < 12; wake++)
        {
            Assert.True(rig.Bell.Asleep);
            sleeps.Add(rig.Sleep.RequestedSleepMs!.Value);
            rig.SleepUntilTimer();
            long woke = rig.Clock.MonotonicMs;
            while (!rig.Bell.Asleep)
            {
                rig.Run(100);
            }

            Assert.InRange(rig.Clock.MonotonicMs - woke, 2000, 6000);
            Assert.Equal(1, rig.Bell.PendingAlarmCount);
        }

        Assert.Equal([2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 900_000, 900_000, 900_000], sleeps);

        // The ack ends it; the next alarm starts the retries afresh.
        uint counter = rig.AdvertisedFrames().Last().Counter;
        rig.SleepUntilTimer();
        rig.Run(1500);
        rig.BroadcastAck(counter, AckStage.Received);
        rig.Run(5000);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.InRange(rig.Sleep.RequestedSleepMs!.Value, 3_000_000, 3_600_000);
    }

    [Fact]
    public void Timer_wake_checks_in_with_a_ble_heartbeat_carrying_the_battery_level()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Run(3000);
        Assert.True(rig.Bell.Asleep);
        Assert.Empty(rig.Advertised);

        rig.SetBatteryRaw(1652); // (1652 - 1189) / (2114 - 1189) = 50 %
        rig.SleepUntilTimer();
        rig.Run(3000);
        Frame beat = rig.AdvertisedFrames().Single();
        Assert.Equal(FrameType.Heartbeat, beat.Type);
        Assert.Equal(24, FrameCodec.EncodedLength(beat));
        Assert.Equal(new byte[] { 0, 50 }, beat.Payload);
        Assert.True(rig.Bell.Asleep);
        Assert.InRange(rig.Sleep.RequestedSleepMs!.Value, 3_590_000, 3_600_000);
    }

    [Fact]
    public void Press_that_woke_the_bell_counts_from_the_wake()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Run(3000);
        Assert.True(rig.Bell.Asleep);

        // The button wakes the chip; the program starts 1.2 s later while it is still held.
        long wake = rig.Clock.MonotonicMs;
        rig.Button.Hold();
        rig.Clock.Advance(1200);
        rig.Reboot(WakeCause.Button, wake);
        rig.Run(400);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        rig.Button.Release();

        // A short press that woke it raises nothing.
        var tap = new BellRig(profile: BellProfiles.Battery);
        tap.Run(3000);
        long tapWake = tap.Clock.MonotonicMs;
        tap.Button.Press(300);
        tap.Clock.Advance(1200);
        tap.Reboot(WakeCause.Button, tapWake);
        tap.Run(5000);
        Assert.Equal(0, tap.Bell.AlarmsRaised);
        Assert.True(tap.Bell.Asleep);
    }

    [Fact]
    public void Tamper_wake_and_a_drained_battery_report_137_and_384()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Run(3000);
        rig.Tamper.IsActive = true;
        rig.SetBatteryRaw(1200);
        rig.Reboot(WakeCause.Tamper);
        rig.Run(3000);
        List<Frame> frames = rig.AdvertisedFrames();
        Assert.Contains(frames, f => f.EventCode == ContactIdCode.Tamper && f.Qualifier == ContactIdQualifier.NewEvent);
        Assert.Contains(frames, f => f.EventCode == ContactIdCode.RfLowBattery && f.Qualifier == ContactIdQualifier.NewEvent);
        Assert.True(rig.Bell.Troubles.TamperOpen);
        Assert.True(rig.Bell.Troubles.BatteryLow);
    }

    [Fact]
    public void Watchdog_restarts_a_hung_bell_and_the_alarm_still_goes_out()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Watchdog.Expired += () => rig.Reboot();
        rig.Press();
        uint counter = rig.AdvertisedFrames()[0].Counter;
        rig.Run(10_000);
        Assert.Equal(0, rig.Watchdog.Expirations);

        // The loop hangs: nothing ticks the bell for longer than the watchdog timeout.
        PanicBell hung = rig.Bell;
        rig.Clock.Advance(31_000);
        Assert.Equal(1, rig.Watchdog.Expirations);
        Assert.NotSame(hung, rig.Bell);

        rig.Advertised.Clear();
        rig.Run(100);
        Assert.Equal(counter, rig.AdvertisedFrames().Single().Counter);
    }
}
