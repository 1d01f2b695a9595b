using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Doorbell;

public sealed class SmartDoorbellTests
{
    [Fact]
    public void Ring_chimes_raises_a_status_event_and_sends_its_snapshot_after_the_event_is_stored()
    {
        var rig = new DoorbellRig();
        rig.Parts.Ring.Press(200);
        rig.Run(2000);

        Frame ring = Assert.Single(rig.Events);
        Assert.Equal(ContactIdCode.DoorbellRing, ring.EventCode);
        Assert.Equal(ContactIdQualifier.StatusReport, ring.Qualifier);
        Assert.Equal((ushort)2, ring.Zone);
        Assert.Equal([0.5, 0.0, 0.35, 0.0], rig.Parts.Chime.History.Select(h => h.Duty).Skip(1));
        Assert.Empty(rig.Chunks);

        rig.AckEvents();
        rig.Run(500);
        List<Frame> chunks = rig.Chunks;
        Assert.Equal(1 + ((rig.Parts.Camera.Images[0].Length + 199) / 200), chunks.Count);
        Assert.All(chunks, c => Assert.True(c.Counter > ring.Counter));
        Assert.All(chunks, c => Assert.Equal((ring.EventCode, ring.Qualifier, ring.Zone), (c.EventCode, c.Qualifier, c.Zone)));
        Assert.Equal(rig.Parts.Camera.Images[0], DoorbellRig.Reassemble(chunks, ring.Counter));

        rig.DeliverAck(ring.Counter, AckStage.SnapshotStored);
        rig.Run(60_000);
        Assert.Equal(0, rig.Doorbell.PendingSnapshotCount);
        Assert.Equal(1, rig.Doorbell.SnapshotsDelivered);
        Assert.Equal(chunks.Count, rig.Chunks.Count);
        Assert.Equal(LedState.Idle, rig.Parts.Led.Current);
    }

    [Fact]
    public void Rings_in_quick_succession_chime_each_time_but_make_one_event()
    {
        var rig = new DoorbellRig();
        for (int i = 0; i < 3; i++)
        {
            rig.Parts.Ring.Press(150);
            rig.Run(1000);
        }

        Assert.Equal(3, rig.Doorbell.ChimePlays);
        Assert.Single(rig.Events);
        Assert.Equal(2, rig.Doorbell.RingsSuppressed);
        Assert.Equal(1, rig.Parts.Camera.Shots);
    }

    [Fact]
    public void Lingering_motion_without_a_ring_raises_one_suspicious_visitor_event_per_episode()
    {
        var rig = new DoorbellRig();
        rig.Parts.Pir.StartMotion();
        rig.Run(19_000);
        Assert.Empty(rig.Events);

        rig.Run(2_000);
        Frame loiter = Assert.Single(rig.Events);
        Assert.Equal(ContactIdCode.Loitering, loiter.EventCode);
        Assert.Equal(ContactIdQualifier.NewEvent, loiter.Qualifier);
        rig.AckEvents();

        // Still there a minute later, with a short gap: the same episode, no second event.
        rig.Run(60_000);
        rig.Parts.Pir.StopMotion();
        rig.Run(2_000);
        rig.Parts.Pir.StartMotion();
        rig.Run(30_000);
        Assert.Single(rig.Events, e => e.EventCode == ContactIdCode.Loitering);

        // Quiet long enough to rearm; the next lingering is a new episode.
        rig.Parts.Pir.StopMotion();
        rig.Run(31_000);
        rig.Parts.Pir.StartMotion();
        rig.Run(21_000);
        Assert.Equal(2, rig.Events.Count(e => e.EventCode == ContactIdCode.Loitering));
        Assert.Equal(2, rig.Doorbell.LoiteringRaised);
    }

    [Fact]
    public void A_pulsing_sensor_counts_as_continuous_motion_within_the_gap()
    {
        var rig = new DoorbellRig();
        for (int i = 0; i < 10; i++)
        {
            rig.Parts.Pir.Pulse(1000);
            rig.Run(2500);
        }

        Assert.Single(rig.Events, e => e.EventCode == ContactIdCode.Loitering);
    }

    [Fact]
    public void Short_passes_and_visitors_who_ring_are_not_loitering()
    {
        var rig = new DoorbellRig();
        rig.Parts.Pir.Pulse(4000);
        rig.Run(40_000);
        Assert.Empty(rig.Events);

        rig.Parts.Pir.StartMotion();
        rig.Run(5_000);
        rig.Parts.Ring.Press(200);
        rig.Run(60_000);
        Assert.Equal([ContactIdCode.DoorbellRing], rig.Events.Select(e => e.EventCode));
    }

    [Fact]
    public void Emergency_is_resent_until_the_gateway_has_it_and_the_led_follows_it_to_help_on_the_way()
    {
        var rig = new DoorbellRig();
        rig.Parts.Emergency.Press(500);
        rig.Run(2000);
        Assert.Empty(rig.Events);

        rig.Link.AcceptPublishes = false;
        rig.Parts.Emergency.Press(2000);
        rig.Run(40_000);
        Assert.Equal(LedState.Failed, rig.Parts.Led.Current);
        Assert.Equal(1, rig.Doorbell.PendingEventCount);

        rig.Link.AcceptPublishes = true;
        rig.Run(31_000);
        List<Frame> sent = rig.EventFrames;
        Assert.NotEmpty(sent);
        Assert.All(sent, e => Assert.Equal((ContactIdCode.Panic, ContactIdQualifier.NewEvent, (ushort)1), (e.EventCode, e.Qualifier, e.Zone)));
        Assert.Single(sent.Select(e => e.Counter).Distinct());

        rig.DeliverAck(sent[0].Counter, AckStage.Received);
        rig.Run(100);
        Assert.Equal(LedState.ReceivedByGateway, rig.Parts.Led.Current);
        int framesAtReceipt = rig.EventFrames.Count;
        rig.Run(60_000);
        Assert.Equal(framesAtReceipt, rig.EventFrames.Count);

        rig.DeliverAck(sent[0].Counter, AckStage.OperatorAcknowledged);
        rig.Run(100);
        Assert.Equal(LedState.Acknowledged, rig.Parts.Led.Current);

        // Its picture was taken with the alarm and follows it.
        Assert.NotNull(DoorbellRig.Reassemble(rig.Chunks, sent[0].Counter));
    }

    [Fact]
    public void Emergency_survives_a_reboot_before_the_gateway_has_it()
    {
        var rig = new DoorbellRig();
        rig.Link.IsConnected = false;
        rig.Parts.Emergency.Press(2000);
        rig.Run(2500);
        uint counter = rig.Doorbell.EmergencyCounter;
        Assert.NotEqual(0u, counter);

        rig.Reboot();
        rig.Link.IsConnected = true;
        rig.Run(100);
        Assert.Equal(counter, Assert.Single(rig.Events).Counter);
        Assert.Equal(1, rig.Doorbell.PendingSnapshotCount);
        Assert.True(rig.Doorbell.NextCounter > counter);
    }

    [Fact]
    public void Forged_and_replayed_acks_change_nothing()
    {
        var rig = new DoorbellRig();
        rig.Parts.Emergency.Press(2000);
        rig.Run(2500);
        uint counter = rig.Events[0].Counter;

        rig.Link.Deliver(rig.Downlink, rig.Ack(counter, AckStage.Received, key: new byte[32]));
        rig.Link.Deliver(rig.Downlink, rig.Ack(counter, AckStage.SnapshotStored, key: new byte[32]));
        rig.Run(100);
        Assert.Equal(2, rig.Doorbell.Downlinks.RejectedForged);
        Assert.Equal(1, rig.Doorbell.PendingEventCount);
        Assert.Equal(1, rig.Doorbell.PendingSnapshotCount);

        byte[] genuine = rig.Ack(counter, AckStage.Received);
        rig.Link.Deliver(rig.Downlink, genuine);
        rig.Run(2000);
        Assert.Equal(0, rig.Doorbell.PendingEventCount);

        // The stage-4 ack heard again is a repeat (not counted); a recorded older ack played back is a replay.
        byte[] stored = rig.Ack(counter, AckStage.SnapshotStored);
        rig.Link.Deliver(rig.Downlink, stored);
        rig.Link.Deliver(rig.Downlink, stored);
        rig.Link.Deliver(rig.Downlink, genuine);
        rig.Run(100);
        Assert.Equal(1, rig.Doorbell.Downlinks.RejectedReplayed);
        Assert.Equal(0, rig.Doorbell.PendingSnapshotCount);
    }

    [Fact]
    public void A_stage_four_ack_never_stands_for_the_event_ack()
    {
        var rig = new DoorbellRig();
        rig.Parts.Emergency.Press(2000);
        rig.Run(2500);
        uint counter = rig.Events[0].Counter;
        rig.DeliverAck(counter, AckStage.SnapshotStored);
        rig.Run(100);
        Assert.Equal(1, rig.Doorbell.PendingEventCount);
        Assert.Equal(LedState.Sending, rig.Parts.Led.Current);
    }

    [Fact]
    public void A_chunk_lost_on_the_way_is_sent_again_until_the_snapshot_is_confirmed()
    {
        var rig = new DoorbellRig();
        rig.Parts.Ring.Press(200);
        rig.Run(500);
        uint id = rig.Events[0].Counter;
        rig.AckEvents();
        rig.Run(500);

        // The gateway never saw chunk 3 of the first pass.
        List<Frame> firstPass = rig.Chunks;
        List<Frame> heard = firstPass.Where(c => FramePayloads.ChunkIndex(c) != 3).ToList();
        Assert.Null(DoorbellRig.Reassemble(heard, id));

        rig.Run(4_500);
        Assert.Equal(1, rig.Doorbell.SnapshotResends);
        heard.AddRange(rig.Chunks.Skip(firstPass.Count));
        Assert.Equal(rig.Parts.Camera.Images[0], DoorbellRig.Reassemble(heard, id));
        Assert.True(rig.Chunks.Skip(firstPass.Count).Min(c => c.Counter) > firstPass.Max(c => c.Counter));

        rig.DeliverAck(id, AckStage.SnapshotStored);
        rig.Run(60_000);
        Assert.Equal(2 * firstPass.Count, rig.Chunks.Count);
    }

    [Fact]
    public void A_connection_dropped_mid_snapshot_resends_every_unconfirmed_chunk_after_reconnect()
    {
        var rig = new DoorbellRig(c => c.ChunksPerTick = 1);
        rig.Parts.Ring.Press(200);
        rig.Run(100);
        uint id = rig.Events[0].Counter;
        rig.AckEvents();
        rig.Run(3 * DoorbellRig.TickMs);
        int before = rig.Chunks.Count;
        Assert.InRange(before, 1, 4);

        rig.Link.IsConnected = false;
        rig.Run(10_000);
        Assert.Equal(before, rig.Chunks.Count);

        rig.Link.IsConnected = true;
        rig.Run(1_000);
        List<Frame> after = rig.Chunks.Skip(before).ToList();
        Assert.Equal(0, FramePayloads.ChunkIndex(after[0]));
        Assert.Equal(rig.Parts.Camera.Images[0], DoorbellRig.Reassemble(after, id));
    }

    [Fact]
    public void A_reboot_mid_snapshot_sends_it_whole_from_flash()
    {
        var rig = new DoorbellRig(c => c.ChunksPerTick = 1);
        rig.Parts.Ring.Press(50);
        rig.Run(100);
        uint id = rig.Events[0].Counter;
        rig.AckEvents();
        rig.Run(3 * DoorbellRig.TickMs);
        Assert.NotEmpty(rig.Chunks);
        uint highest = rig.Frames.Max(f => f.Counter);

        rig.Reboot();
        rig.Run(2_000);
        Assert.Equal(rig.Parts.Camera.Images[0], DoorbellRig.Reassemble(rig.Chunks, id));
        Assert.All(rig.Frames, f => Assert.True(f.Counter > highest));
        Assert.Equal(0, rig.Parts.Camera.Shots - 1);
    }

    [Fact]
    public void When_flash_for_snapshots_is_full_the_oldest_ring_picture_goes_first()
    {
        var rig = new DoorbellRig(c => c.MaxPendingSnapshots = 2);
        rig.Link.IsConnected = false;
        rig.Parts.Ring.Press(200);
        rig.Run(6_000);
        rig.Parts.Emergency.Press(2000);
        rig.Run(6_000);
        rig.Parts.Ring.Press(200);
        rig.Run(1_000);
        Assert.Equal(1, rig.Doorbell.SnapshotsDropped);
        Assert.Equal(2, rig.Doorbell.PendingSnapshotCount);

        rig.Link.IsConnected = true;
        rig.Run(100);
        List<Frame> events = rig.Events;
        Assert.Equal(3, events.Count);
        rig.AckEvents();
        rig.Run(2_000);
        rig.DeliverAck(events[1].Counter, AckStage.SnapshotStored);
        rig.Run(2_000);
        uint[] snapshotIds = rig.Chunks.Select(FramePayloads.SnapshotId).Distinct().ToArray();
        Assert.Equal([events[1].Counter, events[2].Counter], snapshotIds);
        Assert.Equal(ContactIdCode.Panic, events[1].EventCode);
    }

    [Fact]
    public void Snapshots_refused_by_full_flash_are_counted_and_events_still_go()
    {
        var rig = new DoorbellRig(c => c.MaxSnapshotBytes = 500);
        rig.Parts.Ring.Press(200);
        rig.Run(500);
        Assert.Single(rig.Events);
        Assert.Equal(1, rig.Doorbell.SnapshotsDropped);
        Assert.Equal(0, rig.Doorbell.PendingSnapshotCount);

        var failing = new DoorbellRig();
        failing.Parts.Camera.Fail = true;
        failing.Parts.Emergency.Press(2000);
        failing.Run(2500);
        Assert.Single(failing.Events);
        Assert.Equal(1, failing.Doorbell.CameraFailures);
    }

    [Fact]
    public void Tamper_reports_open_and_restore_once_across_reboots()
    {
        var rig = new DoorbellRig();
        rig.Parts.Tamper.Hold();
        rig.Run(200);
        Frame open = Assert.Single(rig.Events);
        Assert.Equal((ContactIdCode.SensorTamper, ContactIdQualifier.NewEvent), (open.EventCode, open.Qualifier));
        rig.AckEvents();
        rig.Run(100);
        rig.Reboot();
        rig.Run(2_000);
        Assert.Empty(rig.Events);

        rig.Parts.Tamper.Release();
        rig.Run(200);
        Frame restore = Assert.Single(rig.Events);
        Assert.Equal((ContactIdCode.SensorTamper, ContactIdQualifier.Restore, (ushort)4), (restore.EventCode, restore.Qualifier, restore.Zone));
        Assert.Equal(0, rig.Doorbell.PendingSnapshotCount);
    }

    [Fact]
    public void A_queue_full_of_unconfirmed_events_still_takes_the_emergency()
    {
        var rig = new DoorbellRig(c =>
        {
            c.MaxPendingEvents = 4;
            c.RingRepeatMs = 100;
        });
        rig.Link.IsConnected = false;
        for (int i = 0; i < 5; i++)
        {
            rig.Parts.Ring.Press(100);
            rig.Run(300);
        }

        Assert.Equal(2, rig.Doorbell.PendingEventCount);
        Assert.Equal(3, rig.Doorbell.EventsRefused);
        rig.Parts.Emergency.Press(2000);
        rig.Run(2500);
        Assert.Equal(3, rig.Doorbell.PendingEventCount);
        Assert.NotEqual(0u, rig.Doorbell.EmergencyCounter);
    }

    [Fact]
    public void Heartbeats_wait_for_events_and_report_mains_power()
    {
        var rig = new DoorbellRig();
        rig.Run(100);
        Frame heartbeat = Assert.Single(rig.Frames, f => f.Type == FrameType.Heartbeat);
        Assert.Equal([0, Heartbeat.BatteryMains], heartbeat.Payload);

        rig.Link.AcceptPublishes = false;
        rig.Parts.Ring.Press(200);
        rig.Run(300);
        rig.Link.AcceptPublishes = true;
        rig.Run(40_000);
        Assert.Single(rig.Frames, f => f.Type == FrameType.Heartbeat);
    }
}
