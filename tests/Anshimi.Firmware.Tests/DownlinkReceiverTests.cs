using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests;

public sealed class DownlinkReceiverTests
{
    private const uint DeviceId = 0x0012AB34;

    // Ack for device 0012AB34 under Key: ver 1 | type Ack, device, downlink counter 7, no code, zone 0,
    // payload length 5 (acked counter 3, stage 1 Received), 8-byte tag.
    private const string AckHex = "13" + "0012AB34" + "00000007" + "0000" + "0000" + "05" + "0000000301" + "5354688261722E21";

    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private readonly MemoryDeviceStorage _storage = new();
    private readonly AckLog _acks = new();

    [Fact]
    public void The_ack_frame_is_the_wire_format_the_gateway_sends()
    {
        var codec = new FrameCodec(new HmacSha256());
        Assert.Equal(AckHex, Convert.ToHexString(codec.Encode(Frame.Ack(DeviceId, 7, 3, AckStage.Received), Key)));
    }

    [Fact]
    public void A_valid_ack_is_handed_on_after_its_counter_is_in_flash()
    {
        DownlinkReceiver receiver = Build();
        receiver.OnMessage(Topics.DeviceDownlink(DeviceId), Convert.FromHexString(AckHex));
        Assert.Empty(_acks.Seen);

        receiver.ProcessQueued();

        Assert.Equal(["3:Received"], _acks.Seen);
        Assert.Equal(1, receiver.AcksAccepted);
        Assert.Equal(7u, receiver.HighestAccepted);
        Assert.Equal(new byte[] { 0, 0, 0, 7 }, _storage.Read("downlink"));
        Assert.Equal(0, receiver.RejectedTotal);
    }

    [Fact]
    public void A_frame_with_a_wrong_tag_counts_as_forged_and_changes_nothing()
    {
        byte[] forged = Convert.FromHexString(AckHex);
        forged[^1] ^= 0x01;
        DownlinkReceiver receiver = Build();
        receiver.Enqueue(forged);
        receiver.ProcessQueued();

        Assert.Equal(1, receiver.RejectedForged);
        Assert.Empty(_acks.Seen);
        Assert.Null(_storage.Read("downlink"));
        Assert.Equal(0u, receiver.HighestAccepted);
    }

    [Fact]
    public void The_same_ack_again_is_a_repeat_neither_handed_on_nor_counted_as_rejected()
    {
        // The gateway advertises one signed ack for many intervals; a bell hears it again and again. Counting the
        // repeats would set the heartbeat's "downlink rejected" bit for ever (protocol/README.md §3).
        DownlinkReceiver receiver = Build();
        for (int i = 0; i < 5; i++)
        {
            receiver.Enqueue(Convert.FromHexString(AckHex));
        }

        receiver.ProcessQueued();

        Assert.Single(_acks.Seen);
        Assert.Equal(0, receiver.RejectedReplayed);
        Assert.Equal(0, receiver.RejectedTotal);
    }

    [Fact]
    public void The_window_in_flash_survives_a_reboot()
    {
        _storage.Write("downlink", [0, 0, 0, 8]);
        DownlinkReceiver receiver = Build();
        receiver.Enqueue(Convert.FromHexString(AckHex));
        receiver.ProcessQueued();

        Assert.Empty(_acks.Seen);
        Assert.Equal(1, receiver.RejectedReplayed);
    }

    [Fact]
    public void Malformed_frames_are_counted_apart_from_forged_ones()
    {
        var codec = new FrameCodec(new HmacSha256());
        DownlinkReceiver receiver = Build();

        // Too short to be a frame.
        receiver.Enqueue([0x13, 0x00, 0x12, 0xAB, 0x34]);

        // Authentic, but for another device, or not an ack.
        receiver.Enqueue(codec.Encode(Frame.Ack(DeviceId + 1, 8, 3, AckStage.Received), Key));
        receiver.Enqueue(codec.Encode(Frame.Alarm(DeviceId, 9, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), Key));
        receiver.ProcessQueued();

        Assert.Equal(3, receiver.RejectedMalformed);
        Assert.Equal(0, receiver.RejectedForged);
        Assert.Empty(_acks.Seen);
        Assert.Null(_storage.Read("downlink"));
    }

    [Fact]
    public void A_full_queue_drops_and_counts_what_comes_on_top()
    {
        var codec = new FrameCodec(new HmacSha256());
        DownlinkReceiver receiver = Build(maxQueued: 2);
        receiver.Enqueue(codec.Encode(Frame.Ack(DeviceId, 1, 11, AckStage.Received), Key));
        receiver.Enqueue(codec.Encode(Frame.Ack(DeviceId, 2, 12, AckStage.Received), Key));
        receiver.Enqueue(codec.Encode(Frame.Ack(DeviceId, 3, 13, AckStage.Received), Key));
        Assert.Equal(1, receiver.DroppedDownlinks);

        receiver.ProcessQueued();
        Assert.Equal(["11:Received", "12:Received"], _acks.Seen);

        // Processing makes room again.
        receiver.Enqueue(codec.Encode(Frame.Ack(DeviceId, 4, 14, AckStage.OperatorAcknowledged), Key));
        receiver.ProcessQueued();
        Assert.Equal("14:OperatorAcknowledged", _acks.Seen[^1]);
        Assert.Equal(1, receiver.RejectedTotal);
    }

    [Fact]
    public void Messages_on_another_topic_are_dropped_unread()
    {
        DownlinkReceiver receiver = Build();
        receiver.OnMessage(Topics.DeviceDownlink(DeviceId + 1), Convert.FromHexString(AckHex));
        receiver.ProcessQueued();

        Assert.Equal(1, receiver.DroppedDownlinks);
        Assert.Empty(_acks.Seen);
    }

    [Fact]
    public void A_failed_flash_write_is_reported_and_the_ack_still_counts()
    {
        _storage.FailWrites = true;
        DownlinkReceiver receiver = Build();
        receiver.Enqueue(Convert.FromHexString(AckHex));
        receiver.ProcessQueued();

        Assert.False(receiver.StorageHealthy);
        Assert.Single(_acks.Seen);
    }

    [Fact]
    public void Subscribes_once_per_session_and_retries_a_refusal()
    {
        var clock = new VirtualClock();
        var link = new FakeMqttLink(clock) { IsConnected = false };
        DownlinkReceiver receiver = Build();

        receiver.KeepSubscribed(link, false, 0, 2000);
        Assert.Empty(link.Subscriptions);

        link.IsConnected = true;
        receiver.KeepSubscribed(link, true, 10, 2000);
        receiver.KeepSubscribed(link, true, 20, 2000);
        Assert.Equal([Topics.DeviceDownlink(DeviceId)], link.Subscriptions);

        receiver.Resubscribe(30);
        receiver.KeepSubscribed(link, true, 30, 2000);
        Assert.Equal(2, link.Subscriptions.Count);
    }

    private DownlinkReceiver Build(int maxQueued = 8) =>
        new(new FrameSeal(new HmacSha256(), Key, DeviceId, 1), DeviceId, _storage, maxQueued, _acks);

    private sealed class AckLog : IAckReceiver
    {
        public List<string> Seen { get; } = [];

        public void OnAck(uint ackedCounter, AckStage stage) => Seen.Add(ackedCounter + ":" + stage);
    }
}
