using System.Text.Json;
using Anshimi.Protocol.Security;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Protocol.Tests;

public sealed class FrameCodecTests
{
    private static readonly byte[] KeyA = TestVectors.Key("device-a");
    private readonly FrameCodec _codec = new(new HmacSha256());

    public static IEnumerable<object[]> ValidVectors => TestVectors.Names(valid: true);

    public static IEnumerable<object[]> InvalidVectors => TestVectors.Names(valid: false).Where(n => !TestVectors.Get((string)n[0]).TryGetProperty("receiver", out _));

    /// <summary>Frames that are valid on their own and refused by the receiver the vector names (§2's last rows).</summary>
    public static IEnumerable<object[]> ReceiverVectors => TestVectors.Names(valid: false).Where(n => TestVectors.Get((string)n[0]).TryGetProperty("receiver", out _));

    [Fact]
    public void The_vector_file_has_at_least_twelve_vectors_of_both_kinds()
    {
        Assert.True(TestVectors.Count >= 12);
        Assert.True(ValidVectors.Count() >= 5);
        Assert.True(InvalidVectors.Count() >= 5);
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Encodes_each_valid_vector_byte_for_byte(string name)
    {
        JsonElement v = TestVectors.Get(name);
        JsonElement f = v.GetProperty("frame");
        var frame = new Frame(
            TypeOf(f.GetProperty("type").GetString()!),
            Convert.ToUInt32(f.GetProperty("deviceId").GetString(), 16),
            f.GetProperty("counter").GetUInt32(),
            f.GetProperty("code").GetUInt16(),
            f.GetProperty("qualifier").GetByte(),
            f.GetProperty("zone").GetUInt16(),
            Convert.FromHexString(f.GetProperty("payloadHex").GetString()!));

        byte[] encoded = _codec.Encode(frame, TestVectors.Key(v.GetProperty("key").GetString()!));

        Assert.Equal(v.GetProperty("hex").GetString(), Convert.ToHexStringLower(encoded));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Decodes_each_valid_vector_to_its_fields(string name)
    {
        JsonElement v = TestVectors.Get(name);
        JsonElement f = v.GetProperty("frame");
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);

        FrameReadResult result = _codec.Decode(data, 0, data.Length, TestVectors.Key(v.GetProperty("key").GetString()!));

        Assert.Equal(FrameError.None, result.Error);
        Frame frame = result.Frame!;
        Assert.Equal(TypeOf(f.GetProperty("type").GetString()!), frame.Type);
        Assert.Equal(f.GetProperty("deviceId").GetString(), DeviceIdText.Format(frame.DeviceId));
        Assert.Equal(f.GetProperty("counter").GetUInt32(), frame.Counter);
        Assert.Equal(f.GetProperty("code").GetUInt16(), frame.EventCode);
        Assert.Equal(f.GetProperty("qualifier").GetByte(), frame.Qualifier);
        Assert.Equal(f.GetProperty("zone").GetUInt16(), frame.Zone);
        Assert.Equal(f.GetProperty("payloadHex").GetString(), Convert.ToHexStringLower(frame.Payload));
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void Rejects_each_invalid_vector_with_its_reason(string name)
    {
        JsonElement v = TestVectors.Get(name);
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        FrameReadResult result = _codec.Decode(data, 0, data.Length, TestVectors.Key(v.GetProperty("key").GetString()!));

        FrameError error = result.Error;
        if (error == FrameError.None && v.TryGetProperty("lastCounter", out JsonElement last))
        {
            error = AlarmWindow.Admits(result.Frame!.Counter, last.GetUInt32()) ? FrameError.None : FrameError.Replayed;
        }

        Assert.Equal(v.GetProperty("expect").GetString(), FrameErrorName.Of(error));
    }

    [Theory]
    [MemberData(nameof(ReceiverVectors))]
    public void Each_receiver_vector_is_a_valid_frame_and_its_direction_vectors_travel_the_other_way(string name)
    {
        JsonElement v = TestVectors.Get(name);
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        FrameReadResult result = _codec.Decode(data, 0, data.Length, TestVectors.Key(v.GetProperty("key").GetString()!));
        Assert.Equal(FrameError.None, result.Error);

        FrameType type = result.Frame!.Type;
        bool rightWay = v.GetProperty("receiver").GetString() switch
        {
            "gateway" => FrameDirection.IsTowardGateway(type),
            "device" => type == FrameType.Ack,
            "light" => type == FrameType.Command || type == FrameType.Escort,
            var other => throw new InvalidOperationException("unknown receiver " + other),
        };
        if (v.GetProperty("expect").GetString() == "wrong_direction")
        {
            Assert.False(rightWay);
        }
    }

    [Fact]
    public void Every_type_travels_exactly_one_way()
    {
        foreach (FrameType type in Enum.GetValues<FrameType>())
        {
            int ways = (FrameDirection.IsTowardGateway(type) ? 1 : 0) + (FrameDirection.IsFromGateway(type) ? 1 : 0) + (type == FrameType.Escort ? 1 : 0);
            Assert.Equal(1, ways);
        }
    }

    [Theory]
    [InlineData(10u, 9u, true)]
    [InlineData(2000u, 2001u, true)]
    [InlineData(1030u, 7u, true)]
    [InlineData(1031u, 7u, false)]
    [InlineData(uint.MaxValue, 0u, false)]
    public void The_alarm_window_admits_late_alarms_but_not_old_ones(uint highest, uint counter, bool admitted)
    {
        Assert.Equal(admitted, AlarmWindow.Admits(counter, highest));
    }

    [Fact]
    public void The_strict_counter_window_for_acks_and_heartbeats_refuses_anything_not_newer()
    {
        var window = new CounterWindow(5);
        Assert.False(window.TryAccept(5));
        Assert.False(window.TryAccept(4));
        Assert.True(window.TryAccept(6));
        Assert.Equal(6u, window.Highest);
        Assert.False(window.IsFresh(6));
    }

    [Fact]
    public void Alarm_and_beacon_frames_fit_a_legacy_advertisement_with_flags()
    {
        byte[] alarm = _codec.Encode(Frame.Alarm(0xFFFFFFFF, uint.MaxValue, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 999), KeyA);
        byte[] beacon = _codec.Encode(FramePayloads.Beacon(1, 1, LightMode.Escort, true, FramePayloads.MaxLevel), KeyA);

        // 31 bytes = Flags AD (3) + manufacturer-data AD header (4) + frame.
        Assert.True(3 + 4 + alarm.Length <= 31, "alarm is " + alarm.Length + " bytes");
        Assert.True(3 + 4 + beacon.Length <= 31, "beacon is " + beacon.Length + " bytes");
        Assert.Equal(FrameCodec.MaxAdvertisedFrameLength, beacon.Length);
    }

    [Fact]
    public void Ack_frames_carry_the_acknowledged_counter_and_stage()
    {
        byte[] data = _codec.Encode(Frame.Ack(0xA001, 3, 77, AckStage.OperatorAcknowledged), KeyA);
        Frame frame = _codec.Decode(data, 0, data.Length, KeyA).Frame!;

        Assert.Equal(77u, frame.AckedCounter);
        Assert.Equal(AckStage.OperatorAcknowledged, frame.AckStage);
    }

    [Fact]
    public void Decoding_never_throws_on_random_bytes()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            FrameReadResult result = _codec.Decode(bytes, 0, bytes.Length, KeyA);
            return result.IsOk == (result.Frame is not null);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }

    [Fact]
    public void Decoding_never_throws_for_any_offset_and_count()
    {
        byte[] data = Convert.FromHexString(TestVectors.Get("alarm-panic").GetProperty("hex").GetString()!);
        Prop.ForAll<int, int>((offset, count) =>
        {
            FrameReadResult result = _codec.Decode(data, offset, count, KeyA);
            return !result.IsOk || (offset == 0 && count == data.Length);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void Every_single_byte_mutation_of_a_signed_frame_is_rejected()
    {
        byte[] original = _codec.Encode(Frame.Alarm(0xA001, 42, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), KeyA);
        Prop.ForAll(
            Gen.Choose(0, original.Length - 1).ToArbitrary(),
            Gen.Choose(1, 255).ToArbitrary(),
            (position, xor) =>
            {
                byte[] mutated = (byte[])original.Clone();
                mutated[position] ^= (byte)xor;
                return !_codec.Decode(mutated, 0, mutated.Length, KeyA).IsOk;
            }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    [Fact]
    public void Any_valid_frame_round_trips()
    {
        // An alarm carries its event and no payload; a heartbeat no event and [flags, battery] (§3 payload rules).
        Gen<Frame> frames = Gen.OneOf(
            from device in ArbMap.Default.GeneratorFor<uint>()
            from counter in ArbMap.Default.GeneratorFor<uint>()
            from code in Gen.Choose(1, 999)
            from qualifier in Gen.Elements<byte>(1, 3, 6)
            from zone in Gen.Choose(0, 999)
            select new Frame(FrameType.Alarm, device, counter, (ushort)code, qualifier, (ushort)zone, []),
            from device in ArbMap.Default.GeneratorFor<uint>()
            from counter in ArbMap.Default.GeneratorFor<uint>()
            from flags in Gen.Choose(0, 3)
            from battery in Gen.OneOf(Gen.Choose(0, 100), Gen.Constant(0xFF))
            select new Frame(FrameType.Heartbeat, device, counter, 0, 0, 0, [(byte)flags, (byte)battery]));

        Prop.ForAll(frames.ToArbitrary(), frame =>
        {
            byte[] data = _codec.Encode(frame, KeyA);
            FrameReadResult result = _codec.Decode(data, 0, data.Length, KeyA);
            return result.IsOk
                && result.Frame!.Type == frame.Type && result.Frame.DeviceId == frame.DeviceId
                && result.Frame.Counter == frame.Counter && result.Frame.EventCode == frame.EventCode
                && result.Frame.Qualifier == frame.Qualifier && result.Frame.Zone == frame.Zone
                && result.Frame.Payload.AsSpan().SequenceEqual(frame.Payload);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void Typed_frames_round_trip_through_their_payload_readers()
    {
        Gen<Frame> frames = Gen.OneOf(
            from light in ArbMap.Default.GeneratorFor<uint>()
            from counter in ArbMap.Default.GeneratorFor<uint>()
            from mode in Gen.Choose(LightMode.Schedule, LightMode.Emergency)
            from fault in ArbMap.Default.GeneratorFor<bool>()
            from level in Gen.Choose(0, FramePayloads.MaxLevel)
            select FramePayloads.Beacon(light, counter, (byte)mode, fault, (byte)level),
            from light in ArbMap.Default.GeneratorFor<uint>()
            from counter in ArbMap.Default.GeneratorFor<uint>()
            from mode in Gen.Choose(LightMode.Schedule, LightMode.Emergency)
            from hold in Gen.Choose(1, ushort.MaxValue)
            select FramePayloads.Command(light, counter, (byte)mode, (ushort)hold),
            from device in ArbMap.Default.GeneratorFor<uint>()
            from snapshot in ArbMap.Default.GeneratorFor<uint>()
            from count in Gen.Choose(2, 500)
            from index in Gen.Choose(1, count - 1)
            from data in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>()).Where(d => d.Length is >= 1 and <= FramePayloads.MaxSnapshotDataLength)
            select FramePayloads.SnapshotChunk(device, snapshot, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 9, snapshot, (ushort)index, (ushort)count, data, 0, data.Length));

        Prop.ForAll(frames.ToArbitrary(), frame =>
        {
            byte[] data = _codec.Encode(frame, KeyA);
            Frame decoded = _codec.Decode(data, 0, data.Length, KeyA).Frame!;
            return frame.Type switch
            {
                FrameType.Beacon => FramePayloads.BeaconMode(decoded) == FramePayloads.BeaconMode(frame)
                    && FramePayloads.BeaconHasLampFault(decoded) == FramePayloads.BeaconHasLampFault(frame)
                    && FramePayloads.BeaconLevel(decoded) == FramePayloads.BeaconLevel(frame),
                FrameType.Command => FramePayloads.CommandMode(decoded) == FramePayloads.CommandMode(frame)
                    && FramePayloads.CommandHoldSeconds(decoded) == FramePayloads.CommandHoldSeconds(frame),
                _ => FramePayloads.SnapshotId(decoded) == FramePayloads.SnapshotId(frame)
                    && FramePayloads.ChunkIndex(decoded) == FramePayloads.ChunkIndex(frame)
                    && FramePayloads.ChunkCount(decoded) == FramePayloads.ChunkCount(frame)
                    && FramePayloads.ChunkDataLength(decoded) == FramePayloads.ChunkDataLength(frame),
            };
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void Downlink_acks_fit_a_flagless_advertisement_and_commands_fit_one_with_flags_left_out()
    {
        byte[] ack = _codec.Encode(Frame.Ack(0xA001, 1, 7, AckStage.Received), KeyA);
        byte[] command = _codec.Encode(FramePayloads.Command(0xA001, 1, LightMode.Escort, 30), KeyA);

        Assert.Equal(FrameCodec.MaxFlaglessAdvertisedFrameLength, ack.Length);
        Assert.True(BleAdvertisement.Write(ack, 0, ack.Length, false, new byte[31], 0) == 31);
        Assert.Equal(-1, BleAdvertisement.Write(ack, 0, ack.Length, true, new byte[31], 0));
        Assert.True(BleAdvertisement.Write(command, 0, command.Length, false, new byte[31], 0) > 0);
    }

    [Fact]
    public void Encoding_refuses_fields_that_do_not_fit()
    {
        Assert.Throws<ArgumentException>(() => _codec.Encode(Frame.Alarm(1, 1, 1000, 1, 1), KeyA));
        Assert.Throws<ArgumentException>(() => _codec.Encode(new Frame(FrameType.Command, 1, 1, 0, 0, 0, new byte[256]), KeyA));
    }

    private static FrameType TypeOf(string name) => name switch
    {
        "alarm" => FrameType.Alarm,
        "heartbeat" => FrameType.Heartbeat,
        "ack" => FrameType.Ack,
        "beacon" => FrameType.Beacon,
        "command" => FrameType.Command,
        "snapshot-chunk" => FrameType.SnapshotChunk,
        "escort" => FrameType.Escort,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown frame type in vector file"),
    };
}
