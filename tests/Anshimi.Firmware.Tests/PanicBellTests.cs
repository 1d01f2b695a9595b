using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests;

public sealed class PanicBellTests
{
    [Fact]
    public void Short_press_raises_nothing()
    {
        var rig = new BellRig();
        rig.Press(holdMs: 800);
        rig.Run(5000);

        Assert.Equal(0, rig.Bell.AlarmsRaised);
        Assert.Empty(rig.Alarms);
        Assert.Equal(LedState.Idle, rig.Bell.LedState);
    }

    [Fact]
    public void Contact_bounce_never_counts_as_a_press()
    {
        var rig = new BellRig();

        // Three seconds of chatter.
        rig.Chatter(600);

        rig.Button.Release();
        rig.Run(1000);
        Assert.Equal(0, rig.Bell.AlarmsRaised);
    }

    [Fact]
    public void Held_press_raises_one_alarm_at_the_long_press_threshold()
    {
        var rig = new BellRig();
        rig.Button.Hold();
        rig.Run(1400);
        Assert.Equal(0, rig.Bell.AlarmsRaised);

        rig.Run(200);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Equal(LedState.Sending, rig.Bell.LedState);

        // Holding on does not raise more alarms.
        rig.Run(10_000);
        rig.Button.Release();
        rig.Run(100);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
        Assert.Single(rig.Alarms.Select(f => f.Counter).Distinct());
    }

    [Fact]
    public void Bouncy_start_of_a_deliberate_press_still_counts()
    {
        var rig = new BellRig();
        rig.Chatter(20);

        rig.Button.Hold();
        rig.Run(1600);
        Assert.Equal(1, rig.Bell.AlarmsRaised);
    }

    [Fact]
    public void Alarm_frame_is_a_signed_contact_id_panic_on_the_uplink_at_qos1()
    {
        var rig = new BellRig(c => c.Zone = 7);
        rig.Press();

        Published first = rig.Link.Published.First(p => rig.Decode(p.Payload).Type == FrameType.Alarm);
        Assert.Equal(rig.Uplink, first.Topic);
        Assert.True(first.Qos1);
        Frame frame = rig.Decode(first.Payload);
        Assert.Equal(BellRig.DeviceId, frame.DeviceId);
        Assert.Equal(ContactIdCode.Panic, frame.EventCode);
        Assert.Equal(ContactIdQualifier.NewEvent, frame.Qualifier);
        Assert.Equal(7, frame.Zone);
        Assert.Empty(frame.Payload);
        Assert.Equal(FrameCodec.MinFrameLength, first.Payload.Length);

        // Only the device key verifies it.
        var codec = new FrameCodec(new Protocol.Security.HmacSha256());
        Assert.Equal(FrameError.BadTag, codec.Decode(first.Payload, 0, first.Payload.Length, new byte[32]).Error);
    }

    [Fact]
    public void Unconfirmed_alarm_is_resent_with_doubling_backoff_capped_at_thirty_seconds()
    {
        var rig = new BellRig(c => c.HeartbeatIntervalMs = 1_000_000);
        rig.Button.Hold();
        rig.Run(200_000);

        long[] times = rig.Link.Published.Where(p => rig.Decode(p.Payload).Type == FrameType.Alarm).Select(p => p.AtMs).ToArray();
        long[] gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToArray();
        Assert.Equal(new long[] { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000 }, gaps.Take(9));
        Assert.All(rig.Alarms, f => Assert.Equal(rig.Alarms.First().Counter, f.Counter));
    }

    [Fact]
    public void Received_ack_stops_resending_and_operator_stages_drive_the_led()
    {
        var rig = new BellRig();
        rig.Press();
        uint counter = rig.Alarms.First().Counter;

        rig.DeliverAck(counter, AckStage.Received);
        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.ReceivedByGateway, rig.Bell.LedState);
        int sent = rig.Alarms.Count();
        rig.Run(120_000);
        Assert.Equal(sent, rig.Alarms.Count());

        rig.DeliverAck(counter, AckStage.OperatorAcknowledged);
        rig.Run(20);
        Assert.Equal(LedState.Acknowledged, rig.Bell.LedState);

        rig.DeliverAck(counter, AckStage.Resolved);
        rig.Run(20);
        Assert.Equal(LedState.Idle, rig.Bell.LedState);
        Assert.Equal(
            new[] { LedState.Idle, LedState.Sending, LedState.ReceivedByGateway, LedState.Acknowledged, LedState.Idle },
            rig.Led.History.Select(h => h.State));
        Assert.Equal(3, rig.Bell.Downlinks.AcksAccepted);
    }

    [Fact]
    public void Operator_ack_without_an_earlier_receipt_also_ends_resending()
    {
        var rig = new BellRig();
        rig.Press();
        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.OperatorAcknowledged);
        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.Acknowledged, rig.Bell.LedState);

        // A late "received" does not take back "help is on the way".
        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.Received);
        rig.Run(20);
        Assert.Equal(LedState.Acknowledged, rig.Bell.LedState);
    }

    [Fact]
    public void Forged_ack_is_ignored_and_counted()
    {
        var rig = new BellRig();
        rig.Press();
        uint counter = rig.Alarms.First().Counter;
        byte[] wrongKey = new byte[32];
        wrongKey[0] = 1;

        rig.Link.Deliver(rig.Downlink, rig.Ack(counter, AckStage.Received, key: wrongKey));
        rig.Run(20);

        Assert.Equal(1, rig.Bell.Downlinks.RejectedForged);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.Sending, rig.Bell.LedState);
        int sent = rig.Alarms.Count();
        rig.Run(5000);
        Assert.True(rig.Alarms.Count() > sent);
    }

    [Fact]
    public void Replayed_or_stale_ack_is_ignored_and_counted()
    {
        var rig = new BellRig();
        rig.Press();
        uint first = rig.Alarms.First().Counter;
        byte[] ack = rig.Ack(first, AckStage.Received, downlinkCounter: 5);
        rig.Link.Deliver(rig.Downlink, ack);
        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);

        rig.Press();
        uint second = rig.Alarms.Max(f => f.Counter);
        Assert.True(second > first);

        // The same bytes again (a repeat: not acted on, not counted), and a genuine-key ack with an older downlink counter.
        rig.Link.Deliver(rig.Downlink, ack);
        rig.Link.Deliver(rig.Downlink, rig.Ack(second, AckStage.Received, downlinkCounter: 4));
        rig.Run(20);
        Assert.Equal(1, rig.Bell.Downlinks.RejectedReplayed);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);

        rig.Link.Deliver(rig.Downlink, rig.Ack(second, AckStage.Received, downlinkCounter: 6));
        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
    }

    [Fact]
    public void Downlink_replay_window_survives_a_reboot()
    {
        var rig = new BellRig();
        rig.Press();
        byte[] ack = rig.Ack(rig.Alarms.First().Counter, AckStage.Received, downlinkCounter: 9);
        rig.Link.Deliver(rig.Downlink, ack);
        rig.Run(20);

        rig.Reboot();
        rig.Press();
        rig.Link.Deliver(rig.Downlink, rig.Ack(rig.Alarms.Max(f => f.Counter), AckStage.Received, downlinkCounter: 9));
        rig.Link.Deliver(rig.Downlink, rig.Ack(rig.Alarms.Max(f => f.Counter), AckStage.Received, downlinkCounter: 8));
        rig.Run(20);
        Assert.Equal(1, rig.Bell.Downlinks.RejectedReplayed);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
    }

    [Fact]
    public void Garbage_and_foreign_frames_on_the_downlink_are_dropped_and_counted()
    {
        var rig = new BellRig();
        rig.Press();
        var codec = new FrameCodec(new Protocol.Security.HmacSha256());

        rig.Link.Deliver(rig.Downlink, [1, 2, 3]);
        rig.Link.Deliver(rig.Downlink, []);
        rig.Link.Deliver(rig.Downlink, codec.Encode(Frame.Ack(BellRig.DeviceId + 1, 1, rig.Alarms.First().Counter, AckStage.Received), BellRig.Key));
        rig.Link.Deliver(rig.Downlink, codec.Encode(Frame.Alarm(BellRig.DeviceId, 1, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), BellRig.Key));
        rig.Link.Deliver("anshimi/v1/d/00000000/down", rig.Ack(rig.Alarms.First().Counter, AckStage.Received));
        rig.Run(20);

        Assert.Equal(4, rig.Bell.Downlinks.RejectedMalformed);
        Assert.Equal(1, rig.Bell.Downlinks.DroppedDownlinks);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
    }

    [Fact]
    public void Led_shows_failed_after_the_configured_time_without_receipt_but_resending_goes_on()
    {
        var rig = new BellRig(c => c.FailedAfterMs = 10_000);
        rig.Link.AcceptPublishes = false;
        rig.Press();
        Assert.Equal(LedState.Sending, rig.Bell.LedState);

        rig.Run(9_500);
        Assert.Equal(LedState.Failed, rig.Bell.LedState);

        rig.Link.AcceptPublishes = true;
        rig.Run(3_600_000);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        Assert.True(rig.Alarms.Count() > 100, "still resending after an hour");

        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.Received);
        rig.Run(20);
        Assert.Equal(LedState.ReceivedByGateway, rig.Bell.LedState);
    }

    [Fact]
    public void Reconnect_resends_at_once_instead_of_waiting_out_the_backoff()
    {
        var rig = new BellRig();
        rig.Link.IsConnected = false;
        rig.Press();
        rig.Run(60_000);
        Assert.Empty(rig.Link.Published);

        rig.Link.IsConnected = true;
        rig.Run(20);
        Assert.Single(rig.Alarms);
        Assert.Contains(rig.Downlink, rig.Link.Subscriptions);
    }

    [Fact]
    public void Reboot_mid_alarm_resends_the_same_counter_and_later_alarms_count_above_it()
    {
        var rig = new BellRig();
        rig.Link.IsConnected = false;
        rig.Press();
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        uint counter = rig.Bell.NewestAlarmCounter;

        rig.Reboot();
        rig.Link.IsConnected = true;
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        rig.Run(20);
        Frame resent = Assert.Single(rig.Alarms);
        Assert.Equal(counter, resent.Counter);
        Assert.Equal(LedState.Sending, rig.Bell.LedState);

        rig.Press();
        Assert.True(rig.Alarms.Max(f => f.Counter) > counter);
        Assert.True(rig.Bell.NextCounter > counter);
    }

    [Fact]
    public void Led_state_of_the_newest_alarm_survives_a_reboot()
    {
        var rig = new BellRig();
        rig.Press();
        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.OperatorAcknowledged);
        rig.Run(20);

        rig.Reboot();
        rig.Run(20);
        Assert.Equal(LedState.Acknowledged, rig.Bell.LedState);
    }

    [Fact]
    public void Counters_are_never_reused_across_reboots_and_flash_is_written_per_block()
    {
        var rig = new BellRig(c =>
        {
            c.HeartbeatIntervalMs = 1000;
            c.CounterBlockSize = 64;
        });
        var seen = new List<uint>();
        for (int boot = 0; boot < 6; boot++)
        {
            rig.Run(5000);
            rig.Press();
            uint alarm = rig.Alarms.Max(f => f.Counter);
            rig.DeliverAck(alarm, AckStage.Received);
            rig.Run(3000);
            seen.AddRange(rig.Link.Published.Select(p => rig.Decode(p.Payload).Counter).Distinct());
            rig.Reboot();
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.OrderBy(c => c), seen);
        Assert.DoesNotContain(0u, seen);

        // Six boots of about ten frames each fit in one 64-counter block per boot.
        Assert.True(rig.Storage.WriteCount < 6 * 6, "flash writes: " + rig.Storage.WriteCount);
    }

    [Fact]
    public void Heartbeats_follow_the_interval_at_qos0_and_pause_while_an_alarm_is_unconfirmed()
    {
        var rig = new BellRig(c => c.HeartbeatIntervalMs = 15_000);
        rig.Run(61_000);

        Published[] beats = rig.Link.Published.Where(p => rig.Decode(p.Payload).Type == FrameType.Heartbeat).ToArray();
        Assert.Equal(5, beats.Length);
        Assert.All(beats.Zip(beats.Skip(1), (a, b) => b.AtMs - a.AtMs), gap => Assert.Equal(15_000, gap));
        Assert.All(beats, b => Assert.False(b.Qos1));
        Frame beat = rig.Decode(beats[0].Payload);
        Assert.Equal(ContactIdCode.None, beat.EventCode);
        Assert.Equal(new byte[] { 0, Heartbeat.BatteryMains }, beat.Payload);

        rig.Link.Published.Clear();
        rig.Link.AcceptPublishes = false;
        rig.Press();
        rig.Link.AcceptPublishes = true;
        rig.Run(60_000);
        Assert.Empty(rig.Heartbeats);

        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.Received);
        rig.Run(20);
        Assert.Single(rig.Heartbeats);
    }

    [Fact]
    public void Heartbeat_flags_report_rejected_downlinks_and_storage_faults()
    {
        var rig = new BellRig(c => c.HeartbeatIntervalMs = 10_000);
        rig.Run(20);
        rig.Link.Deliver(rig.Downlink, [9, 9, 9]);
        rig.Storage.FailWrites = true;
        rig.Press();
        rig.DeliverAck(rig.Alarms.First().Counter, AckStage.Received);
        rig.Run(10_000);
        Assert.Equal(Heartbeat.FlagDownlinkRejected | Heartbeat.FlagStorageFault, rig.Heartbeats.Last().Payload[0]);

        // The fault clears with the next successful write; a rejection is reported once.
        rig.Storage.FailWrites = false;
        rig.Press();
        rig.DeliverAck(rig.Alarms.Max(f => f.Counter), AckStage.Received);
        rig.Run(10_000);
        Assert.Equal(0, rig.Heartbeats.Last().Payload[0]);
    }

    [Fact]
    public void Full_queue_refuses_new_presses_keeps_the_oldest_and_sends_them_in_order()
    {
        var rig = new BellRig(c => c.MaxPendingAlarms = 3);
        rig.Link.IsConnected = false;
        for (int i = 0; i < 5; i++)
        {
            rig.Press();
        }

        Assert.Equal(3, rig.Bell.PendingAlarmCount);
        Assert.Equal(3, rig.Bell.AlarmsRaised);
        Assert.Equal(2, rig.Bell.AlarmsRefused);

        rig.Reboot();
        rig.Link.IsConnected = true;
        rig.Run(20);
        uint[] sent = rig.Alarms.Select(f => f.Counter).ToArray();
        Assert.Equal(3, sent.Length);
        Assert.Equal(sent.OrderBy(c => c), sent);

        foreach (uint counter in sent)
        {
            rig.DeliverAck(counter, AckStage.Received);
        }

        rig.Run(20);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.ReceivedByGateway, rig.Bell.LedState);
    }

    [Fact]
    public void A_failed_publish_ends_the_round_so_newer_counters_never_overtake_older_ones()
    {
        var rig = new BellRig();
        rig.Link.IsConnected = false;
        rig.Press();
        rig.Press();
        rig.Link.IsConnected = true;
        rig.Link.AcceptPublishes = false;
        rig.Run(20);
        Assert.Empty(rig.Link.Published);

        rig.Link.AcceptPublishes = true;
        rig.Run(3000);
        uint[] order = rig.Alarms.Select(f => f.Counter).ToArray();
        Assert.Equal(order[0] + 1, order[1]);
    }

    [Fact]
    public void Corrupt_records_in_flash_start_the_bell_empty_instead_of_crashing()
    {
        var storage = new MemoryDeviceStorage();
        storage.Write(AlarmStore.RecordName, [1, 2, 3, 4, 5, 6, 7, 8]);
        storage.Write(FrameCounter.RecordName, [1]);
        storage.Write(PanicBell.DownlinkRecordName, []);
        var rig = new BellRig(storage: storage);
        rig.Run(20);

        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(LedState.Idle, rig.Bell.LedState);
        rig.Press();
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
    }
}
