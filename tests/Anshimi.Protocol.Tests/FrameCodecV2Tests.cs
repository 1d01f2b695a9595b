using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Tests;

/// <summary>
/// Version 2 of the frame (protocol/README.md §10) against the vectors of the independent Python encoder, both ways,
/// and the properties the vectors cannot show alone.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class FrameCodecV2Tests
{
    private readonly FrameCodecV2 _codec = new(new HmacSha256());

    public static IEnumerable<object[]> ValidVectors => TestVectors.V2Names(valid: true);

    public static IEnumerable<object[]> InvalidVectors => TestVectors.V2Names(valid: false);

    public static IEnumerable<object[]> V1Vectors => TestVectors.Names(valid: true).Concat(TestVectors.Names(valid: false));

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Encodes_each_valid_vector_byte_for_byte(string name)
    {
        JsonElement v = TestVectors.GetV2(name);
        JsonElement f = v.GetProperty("frame");
        FrameKeySet keys = KeysOf(v, f.GetProperty("epoch").GetByte());
        byte[] payload = Convert.FromHexString(f.GetProperty("payloadHex").GetString()!);
        var buffer = new byte[FrameCodecV2.MaxChunkFrameLength + 3];

        int length = _codec.Encode(TypeOf(f.GetProperty("type").GetString()!), f.GetProperty("counter").GetUInt32(), f.GetProperty("code").GetUInt16(),
            f.GetProperty("qualifier").GetByte(), f.GetProperty("zone").GetUInt16(), payload, 0, payload.Length, keys, buffer, 3);

        Assert.Equal(v.GetProperty("hex").GetString(), Convert.ToHexStringLower(buffer, 3, length));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Decodes_each_valid_vector_to_its_fields(string name)
    {
        JsonElement v = TestVectors.GetV2(name);
        JsonElement f = v.GetProperty("frame");
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        FrameType type = TypeOf(f.GetProperty("type").GetString()!);
        uint deviceId = Convert.ToUInt32(v.GetProperty("deviceId").GetString(), 16);

        FrameReadResult result = _codec.Decode(data, 0, data.Length, FrameCodecV2.DirectionOf(type), deviceId, KeysOf(v, 0));

        Assert.Equal(FrameError.None, result.Error);
        Frame frame = result.Frame!;
        Assert.Equal(2, frame.Version);
        Assert.Equal(type, frame.Type);
        Assert.Equal(deviceId, frame.DeviceId);
        Assert.Equal(f.GetProperty("epoch").GetByte(), frame.Epoch);
        Assert.Equal(f.GetProperty("counter").GetUInt32(), frame.Counter);
        Assert.Equal(f.GetProperty("code").GetUInt16(), frame.EventCode);
        Assert.Equal(f.GetProperty("qualifier").GetByte(), frame.Qualifier);
        Assert.Equal(f.GetProperty("zone").GetUInt16(), frame.Zone);
        Assert.Equal(f.GetProperty("payloadHex").GetString(), Convert.ToHexStringLower(frame.Payload));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Each_frame_that_travels_by_BLE_is_written_and_found_in_a_flagless_advertisement(string name)
    {
        JsonElement v = TestVectors.GetV2(name);
        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        if (!v.TryGetProperty("advertisementHex", out JsonElement expected))
        {
            Assert.Equal("snapshot-chunk", v.GetProperty("frame").GetProperty("type").GetString());
            return;
        }

        var ad = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, false, ad, 0);

        Assert.Equal(expected.GetString(), Convert.ToHexStringLower(ad, 0, length));
        Assert.True(BleAdvertisement.TryFindFrame(ad, 0, length, out int at, out int found));
        Assert.Equal(frame, ad.AsSpan(at, found).ToArray());
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void Refuses_each_invalid_vector_with_its_reason_at_its_receiver(string name)
    {
        JsonElement v = TestVectors.GetV2(name);
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        int toward = v.GetProperty("receiver").GetString() == "gateway" ? FrameDirectionBit.Uplink : FrameDirectionBit.Downlink;
        var plaintext = new byte[FrameCodecV2.MaxPlaintextLength];

        FrameError error = _codec.Verify(data, 0, data.Length, toward, KeysOf(v, 0), plaintext);
        if (error == FrameError.None && v.TryGetProperty("floor", out JsonElement floor))
        {
            var kept = new EpochCounterFloor(floor.GetProperty("epoch").GetByte(), floor.GetProperty("counter").GetUInt32());
            error = kept.Check(EpochOf(data, v), FrameCodecV2.ReadCounter(plaintext));
        }

        string reason = FrameErrorName.Of(error);
        if (error == FrameError.UnknownDevice && v.TryGetProperty("topic", out JsonElement topic))
        {
            // On MQTT the topic names the device: the id must resolve under that device's key, else topic_mismatch.
            Assert.True(Topics.TryGetDeviceId(topic.GetString()!, out uint topicDevice));
            Assert.Equal(v.GetProperty("deviceId").GetString(), DeviceIdText.Format(topicDevice));
            reason = "topic_mismatch";
        }

        Assert.Equal(v.GetProperty("expect").GetString(), reason);
    }

    [Theory]
    [MemberData(nameof(V1Vectors))]
    public void A_version_1_frame_is_never_read_as_version_2(string name)
    {
        byte[] data = Convert.FromHexString(TestVectors.Get(name).GetProperty("hex").GetString()!);
        Assert.False(FrameCodecV2.IsVersion2(data, 0, data.Length));
        Assert.Equal(data.Length == 0 ? FrameError.TooShort : FrameError.UnknownVersion, FrameCodecV2.Validate(data, 0, data.Length));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void A_version_2_frame_is_refused_by_the_version_1_codec(string name)
    {
        byte[] data = Convert.FromHexString(TestVectors.GetV2(name).GetProperty("hex").GetString()!);
        Assert.Equal(FrameError.UnknownVersion, FrameCodec.Validate(data, 0, data.Length));
    }

    [Fact]
    public void Hkdf_gives_the_first_block_of_RFC_5869_test_cases_1_and_3()
    {
        var hkdf = new HkdfSha256(new HmacSha256());
        var output = new byte[32];

        hkdf.Derive(Enumerable.Repeat((byte)0x0b, 22).ToArray(), Convert.FromHexString("000102030405060708090a0b0c"), Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9"), output);
        Assert.Equal("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf", Convert.ToHexStringLower(output));

        hkdf.Derive(Enumerable.Repeat((byte)0x0b, 22).ToArray(), [], [], output);
        Assert.Equal("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d", Convert.ToHexStringLower(output));
    }

    [Fact]
    public void Each_key_of_a_set_is_the_platform_HKDF_under_its_own_label_and_no_two_keys_are_equal()
    {
        byte[] frameKey = TestVectors.Key("device-b");
        var keys = new FrameKeySet(new HmacSha256(), frameKey, 7);
        byte[] Platform(byte[] salt, string label) => HKDF.DeriveKey(HashAlgorithmName.SHA256, frameKey, 32, salt, Encoding.ASCII.GetBytes(label));

        Assert.Equal(Platform([], "anshimi/v2 uplink id"), keys.IdKey(FrameDirectionBit.Uplink));
        Assert.Equal(Platform([], "anshimi/v2 downlink id"), keys.IdKey(FrameDirectionBit.Downlink));
        Assert.Equal(Platform([7], "anshimi/v2 uplink tag"), keys.TagKey(FrameDirectionBit.Uplink));
        Assert.Equal(Platform([7], "anshimi/v2 downlink enc"), keys.EncryptionKey(FrameDirectionBit.Downlink));
        byte[][] all = [keys.IdKey(0), keys.IdKey(1), keys.TagKey(0), keys.TagKey(1), keys.EncryptionKey(0), keys.EncryptionKey(1), frameKey];
        Assert.Equal(all.Length, all.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void A_duress_alarm_a_silent_alarm_and_a_heartbeat_share_length_and_first_byte_and_no_id_repeats()
    {
        var keys = new FrameKeySet(new HmacSha256(), TestVectors.Key("device-a"), 0);
        var frames = new List<byte[]>();
        for (uint counter = 1; counter <= 600; counter++)
        {
            Frame frame = (counter % 3) switch
            {
                0 => Frame.Alarm(0x0000A001, counter, ContactIdCode.Duress, ContactIdQualifier.NewEvent, 3),
                1 => Frame.Alarm(0x0000A001, counter, ContactIdCode.SilentPanic, ContactIdQualifier.NewEvent, 1),
                _ => new Frame(FrameType.Heartbeat, 0x0000A001, counter, 0, 0, 0, [0x00, 87]),
            };
            frames.Add(_codec.Encode(frame, keys));
        }

        Assert.All(frames, f => Assert.Equal(FrameCodecV2.UplinkFrameLength, f.Length));
        Assert.All(frames, f => Assert.Equal(0x20, f[0]));
        Assert.Equal(frames.Count, frames.Select(f => Convert.ToHexString(f, 1, 7)).Distinct().Count());
    }

    [Fact]
    public void A_frame_sealed_for_one_epoch_opens_only_under_that_epoch_and_the_floor_refuses_older_epochs()
    {
        var sender = new FrameKeySet(new HmacSha256(), TestVectors.Key("device-a"), 1);
        byte[] epoch1 = _codec.Encode(Frame.Alarm(0x0000A001, 5, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), sender);
        var receiver = new FrameKeySet(new HmacSha256(), TestVectors.Key("device-a"), 0);
        var plaintext = new byte[FrameCodecV2.MaxPlaintextLength];

        Assert.Equal(1, _codec.ResolveEpoch(epoch1, 0, receiver.IdKey(FrameDirectionBit.Uplink)));
        Assert.Equal(FrameError.BadTag, _codec.Open(epoch1, 0, epoch1.Length, receiver, plaintext));
        Assert.Equal(FrameError.None, _codec.Verify(epoch1, 0, epoch1.Length, FrameDirectionBit.Uplink, receiver, plaintext));
        Assert.Equal(1, receiver.Epoch);

        var floor = new EpochCounterFloor(0, 900);
        Assert.True(floor.TryAccept(1, 5));
        Assert.Equal(FrameError.StaleEpoch, floor.Check(0, 901));
        Assert.Equal(FrameError.Replayed, floor.Check(1, 4));
        Assert.True(floor.IsRepeat(1, 5));
    }

    [Fact]
    public void A_floor_record_reads_back_as_written_and_anything_else_as_zero()
    {
        var record = new byte[EpochCounterFloor.RecordLength];
        EpochCounterFloor.WriteRecord(3, 0xFFFFFF00, record, 0);

        EpochCounterFloor read = EpochCounterFloor.Read(record, 0, record.Length);
        Assert.Equal(3, read.Epoch);
        Assert.Equal(0xFFFFFF00u, read.Counter);
        Assert.Equal(0, EpochCounterFloor.Read(record, 0, 4).Epoch);
        Assert.Equal(0u, EpochCounterFloor.Read(record, 0, 4).Counter);
    }

    private static FrameKeySet KeysOf(JsonElement vector, byte epoch) =>
        new(new HmacSha256(), TestVectors.Key(vector.GetProperty("key").GetString()!), epoch);

    private byte EpochOf(byte[] data, JsonElement vector) =>
        (byte)_codec.ResolveEpoch(data, 0, KeysOf(vector, 0).IdKey(FrameCodecV2.ReadDirection(data, 0)));

    private static FrameType TypeOf(string name) => name switch
    {
        "alarm" => FrameType.Alarm,
        "heartbeat" => FrameType.Heartbeat,
        "ack" => FrameType.Ack,
        "beacon" => FrameType.Beacon,
        "command" => FrameType.Command,
        "snapshot-chunk" => FrameType.SnapshotChunk,
        "rekey" => FrameType.Rekey,
        "escort-key-part" => FrameType.EscortKeyPart,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown frame type in vector file"),
    };
}
