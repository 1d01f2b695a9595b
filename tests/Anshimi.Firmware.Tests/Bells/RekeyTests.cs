using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>
/// A version-2 bell's own key epoch (protocol/README.md §10, re-key): at its counter's wrap and on its gateway's re-key
/// frame it moves its uplinks to a new epoch, only while no alarm awaits its ack, and a receiver that has seen the new
/// epoch refuses everything recorded before (<c>stale_epoch</c>).
/// </summary>
[Trait("Category", "Protocol")]
public sealed class RekeyTests
{
    [Fact]
    public void At_its_counter_wrap_the_bell_keeps_its_pending_alarm_in_the_old_epoch_then_moves_and_starts_again_at_1()
    {
        var storage = new MemoryDeviceStorage();
        RekeyBell.SeedCounter(storage, 0, 0xFFFFFEFE);
        var bell = new RekeyBell(storage, heartbeatMs: 10_000);
        bell.Run(500);
        bell.Press();
        Frame alarm = bell.Sent.Last(s => s.Frame.Type == FrameType.Alarm).Frame;
        Assert.Equal(0xFFFFFEFFu, alarm.Counter);

        // At the wrap with the alarm unacknowledged: resent as it was, no heartbeat, no move.
        bell.Run(5000);
        Assert.Equal(0, bell.Bell.KeyEpoch);
        Assert.All(bell.Sent, s => Assert.Equal(0, s.Frame.Epoch));

        bell.DeliverAck(alarm.Counter);
        bell.RunUntil(() => bell.Sent.Any(s => s.Frame.Epoch == 1));
        Assert.Equal(1, bell.Bell.KeyEpoch);
        Frame first = bell.Sent.First(s => s.Frame.Epoch == 1).Frame;
        Assert.Equal(FrameType.Heartbeat, first.Type);
        Assert.Equal(1u, first.Counter);

        // It keeps alarming in the new epoch, and its gateway's acks still reach it.
        bell.Press();
        Frame next = bell.Sent.Last(s => s.Frame.Type == FrameType.Alarm).Frame;
        Assert.Equal(1, next.Epoch);
        bell.DeliverAck(next.Counter);
        bell.Run(100);
        Assert.Equal(0, bell.Bell.PendingAlarmCount);

        AssertReceiverRefusesTheOldEpoch(bell);
    }

    [Fact]
    public void A_re_key_from_the_gateway_moves_the_bell_once_its_alarm_is_acked_counting_on_and_a_recorded_re_key_does_nothing()
    {
        var bell = new RekeyBell(new MemoryDeviceStorage());
        bell.Run(3000);
        bell.Press();
        uint alarm = bell.Sent.Last(s => s.Frame.Type == FrameType.Alarm).Frame.Counter;
        byte[] rekey = bell.DeliverRekey(1);
        bell.Run(3000);
        Assert.Equal(1, bell.Bell.Downlinks.RekeysAccepted);
        Assert.Equal(0, bell.Bell.KeyEpoch);

        bell.DeliverAck(alarm);
        bell.RunUntil(() => bell.Sent.Any(s => s.Frame.Epoch == 1));
        uint lastOld = bell.Sent.Where(s => s.Frame.Epoch == 0).Max(s => s.Frame.Counter);
        Frame first = bell.Sent.First(s => s.Frame.Epoch == 1).Frame;
        Assert.True(first.Counter > lastOld, "a commanded re-key keeps counting: " + first.Counter + " after " + lastOld);

        // A re-key to the epoch it is in, or below, changes nothing; the recorded one is a replay after a reboot too.
        bell.DeliverRekey(1);
        bell.DeliverRekey(0);
        bell.Run(2000);
        Assert.Equal(1, bell.Bell.KeyEpoch);
        bell.Reboot();
        bell.Link.Deliver(Topics.DeviceDownlink(RekeyBell.DeviceId), rekey);
        bell.Run(2000);
        Assert.Equal(1, bell.Bell.KeyEpoch);
        Assert.Equal(0, bell.Bell.Downlinks.RekeysAccepted);
        Assert.Equal(1, bell.Bell.Downlinks.RejectedReplayed);

        AssertReceiverRefusesTheOldEpoch(bell);
    }

    /// <summary>
    /// The gateway's floor takes every frame in the order sent (no (epoch, counter) used twice); then every frame it took
    /// before the newest epoch is stale_epoch, and every one of the newest epoch a replay.
    /// </summary>
    internal static void AssertReceiverRefusesTheOldEpoch(RekeyBell bell)
    {
        var floor = new EpochCounterFloor(0, 0);
        foreach ((byte[] _, Frame frame) in bell.Sent.Where(s => s.Frame.Type == FrameType.Heartbeat || s.Frame.Type == FrameType.Alarm))
        {
            Assert.True(floor.TryAccept(frame.Epoch, frame.Counter), "refused in order: epoch " + frame.Epoch + " counter " + frame.Counter);
        }

        Assert.Equal(bell.Sent.Count, bell.Sent.Select(s => (s.Frame.Epoch, s.Frame.Counter)).Distinct().Count());
        foreach ((byte[] bytes, Frame _) in bell.Sent)
        {
            Frame recorded = bell.Open(bytes);
            Assert.Equal(
                recorded.Epoch < floor.Epoch ? FrameError.StaleEpoch : FrameError.Replayed,
                floor.Check(recorded.Epoch, recorded.Counter));
        }
    }
}
