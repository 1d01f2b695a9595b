using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>Tamper, mains, battery and the periodic test: one report per change, restores, and nothing lost or repeated across a reboot.</summary>
public sealed class TroubleTests
{
    private static (ushort Code, byte Qualifier)[] Events(BellRig rig) =>
        rig.Alarms.Select(f => (f.EventCode, f.Qualifier)).Distinct().ToArray();

    [Fact]
    public void Tamper_opening_and_closing_report_137_new_and_restore_once_each()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Tamper.IsActive = true;
        rig.Run(300);
        rig.Tamper.IsActive = false; // a knock, shorter than the debounce time
        rig.Run(1000);
        Assert.Empty(rig.Alarms);

        rig.Tamper.IsActive = true;
        rig.Run(1000);
        Frame opened = rig.Alarms.Single();
        Assert.Equal((ContactIdCode.Tamper, ContactIdQualifier.NewEvent), (opened.EventCode, opened.Qualifier));
        Assert.Equal(0, opened.Zone);
        Assert.True(rig.Bell.Troubles.TamperOpen);

        // Troubles never change what the LED tells the resident.
        Assert.All(rig.Led.History, change => Assert.Equal(Hal.LedState.Idle, change.State));

        rig.DeliverAck(opened.Counter, AckStage.Received);
        rig.Tamper.IsActive = false;
        rig.Run(1000);
        Assert.Equal([(ContactIdCode.Tamper, ContactIdQualifier.NewEvent), (ContactIdCode.Tamper, ContactIdQualifier.Restore)], Events(rig));
    }

    [Fact]
    public void Tamper_state_survives_a_reboot_without_repeating_and_a_restore_during_power_off_is_reported()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Tamper.IsActive = true;
        rig.Run(1000);
        rig.DeliverAck(rig.Alarms.Single().Counter, AckStage.Received);
        rig.Run(100);

        rig.Reboot();
        rig.Run(5000);
        Assert.Empty(rig.Alarms);
        Assert.True(rig.Bell.Troubles.TamperOpen);

        rig.Reboot();
        rig.Tamper.IsActive = false;
        rig.Run(1000);
        Frame restore = rig.Alarms.Single();
        Assert.Equal((ContactIdCode.Tamper, ContactIdQualifier.Restore), (restore.EventCode, restore.Qualifier));
    }

    [Fact]
    public void Mains_loss_is_reported_after_it_lasts_and_its_restore_follows()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Mains.IsActive = false;
        rig.Run(1000);
        rig.Mains.IsActive = true; // a flicker
        rig.Run(5000);
        Assert.Empty(rig.Alarms);

        rig.Mains.IsActive = false;
        rig.Run(3500);
        Assert.True(rig.Bell.Troubles.MainsLost);
        rig.Mains.IsActive = true;
        rig.Run(3500);
        Assert.Equal([(ContactIdCode.AcLoss, ContactIdQualifier.NewEvent), (ContactIdCode.AcLoss, ContactIdQualifier.Restore)], Events(rig));
    }

    [Fact]
    public void Reboot_mid_trouble_keeps_the_pending_report_and_its_counter()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Link.IsConnected = false;
        rig.Mains.IsActive = false;
        rig.Run(3500);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        uint counter = rig.Bell.NextCounter - 1;

        rig.Reboot();
        rig.Link.IsConnected = true;
        rig.Run(100);
        Frame sent = rig.Alarms.Single();
        Assert.Equal(counter, sent.Counter);
        Assert.Equal(ContactIdCode.AcLoss, sent.EventCode);
        Assert.True(rig.Bell.Troubles.MainsLost);
    }

    [Fact]
    public void Home_bell_backup_cell_running_low_reports_302_and_the_heartbeat_carries_its_level()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Run(1000);
        Assert.Equal(100, rig.Heartbeats.Last().Payload[1]);

        rig.SetBatteryRaw(2150); // (2150 - 2110) / (2606 - 2110) = 8 %
        rig.Run(181_000);
        Frame low = rig.Alarms.First();
        Assert.Equal((ContactIdCode.LowBattery, ContactIdQualifier.NewEvent), (low.EventCode, low.Qualifier));
        Assert.True(rig.Bell.Troubles.BatteryLow);
        rig.DeliverAck(low.Counter, AckStage.Received);
        rig.Run(10_000);
        Assert.Equal(8, rig.Heartbeats.Last().Payload[1]);
    }

    [Fact]
    public void Low_battery_uses_hysteresis_and_confirmation()
    {
        var config = new BellConfig(1, BellRig.Key) { BatteryEmptyRaw = 1000, BatteryFullRaw = 2000, BatterySampleIntervalMs = 1000 };
        var raised = new List<(ushort Code, byte Qualifier)>();
        var adc = new SimulatedAnalogInput();
        long now = 0;
        var monitor = new TroubleMonitor(config, 0, new MemoryDeviceStorage(), null, null, adc, (code, qualifier, zone) =>
        {
            raised.Add((code, qualifier));
            return true;
        });

        void Sample(int raw, int times)
        {
            adc.Value = (double)raw / TroubleMonitor.BatteryFullScaleRaw;
            for (int i = 0; i < times; i++)
            {
                monitor.Poll(now);
                now += config.BatterySampleIntervalMs;
            }
        }

        Sample(1190, 2); // 19 %, but only twice
        Sample(1500, 1); // 50 %
        Sample(1190, 2);
        Assert.Empty(raised);
        Sample(1190, 1); // third low reading in a row
        Assert.Equal([(ContactIdCode.LowBattery, ContactIdQualifier.NewEvent)], raised);
        Assert.Equal(19, monitor.BatteryPercent);

        Sample(1250, 5); // 25 %: above the low mark, below the restore mark
        Assert.Single(raised);
        Sample(1300, 3); // 30 %
        Assert.Equal((ContactIdCode.LowBattery, ContactIdQualifier.Restore), raised[1]);
    }

    [Fact]
    public void Trouble_refused_by_a_full_queue_is_reported_when_there_is_room()
    {
        var refuse = true;
        var raised = 0;
        var tamper = new SimulatedContact(active: true);
        var config = new BellConfig(1, BellRig.Key);
        var monitor = new TroubleMonitor(config, 0, new MemoryDeviceStorage(), tamper, null, null, (code, qualifier, zone) =>
        {
            raised++;
            return !refuse;
        });

        monitor.Poll(1000);
        Assert.False(monitor.TamperOpen);
        refuse = false;
        monitor.Poll(1010);
        Assert.True(monitor.TamperOpen);
        Assert.Equal(2, raised);
    }

    [Theory]
    [InlineData(500, 1000, 2000, 0)]
    [InlineData(1500, 1000, 2000, 50)]
    [InlineData(2500, 1000, 2000, 100)]
    [InlineData(1500, 2000, 1000, 0)] // misconfigured: never divides by zero or goes negative
    public void Battery_percent_is_linear_and_clamped(int raw, int empty, int full, int expected) =>
        Assert.Equal(expected, TroubleMonitor.Percent(raw, empty, full));

    [Fact]
    public void Periodic_test_602_follows_its_interval_across_reboots()
    {
        var rig = new BellRig(c => c.PeriodicTestIntervalMs = 60_000, profile: BellProfiles.Home);
        rig.Run(59_900);
        Assert.Empty(rig.Alarms);
        rig.Run(500);
        Frame test = rig.Alarms.Single();
        Assert.Equal((ContactIdCode.PeriodicTest, ContactIdQualifier.NewEvent), (test.EventCode, test.Qualifier));
        rig.DeliverAck(test.Counter, AckStage.Received);

        // Reboot 40 s later: the next test is still due 60 s after the last, not 60 s after boot.
        rig.Run(40_000);
        rig.Reboot();
        rig.Run(19_000);
        Assert.Empty(rig.Alarms);
        rig.Run(2000);
        Assert.Equal(ContactIdCode.PeriodicTest, rig.Alarms.DistinctBy(f => f.Counter).Single().EventCode);
    }
}
