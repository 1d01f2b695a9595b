using System.Text.Json;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Protocol.Tests;

/// <summary>
/// The escort frame and the cloud's escort key schedule (protocol/README.md §10.1) against the independent Python
/// encoder's vectors, both ways. The light's own checks of every vector run on the firmware (EscortVectorTests).
/// </summary>
[Trait("Category", "Protocol")]
public sealed class EscortFrameTests
{
    private readonly EscortFrame _codec = new(new HmacSha256());

    public static IEnumerable<object[]> ValidVectors => TestVectors.EscortNames(valid: true);

    public static IEnumerable<object[]> InvalidVectors => TestVectors.EscortNames(valid: false);

    private static EscortKeySchedule Schedule()
    {
        JsonElement e = TestVectors.Escort;
        return new EscortKeySchedule(
            Convert.FromHexString(e.GetProperty("master").GetString()!),
            TimeSpan.FromMinutes(e.GetProperty("rotationPeriodMinutes").GetInt32()),
            TimeSpan.FromMinutes(e.GetProperty("changeoverMinutes").GetInt32()));
    }

    [Fact]
    public void The_schedule_derives_each_areas_key_and_record_of_each_rotation_as_the_vectors_hold()
    {
        EscortKeySchedule schedule = Schedule();
        foreach (JsonElement r in TestVectors.Escort.GetProperty("records").EnumerateArray())
        {
            ushort area = r.GetProperty("area").GetUInt16();
            uint rotation = r.GetProperty("rotation").GetUInt32();
            Assert.Equal(r.GetProperty("keyHex").GetString(), Convert.ToHexStringLower(schedule.AreaKey(area, rotation)));
            Assert.Equal(r.GetProperty("recordHex").GetString(), Convert.ToHexStringLower(schedule.Record(area, rotation)));
        }
    }

    [Fact]
    public void During_the_changeover_the_cloud_signs_with_the_previous_rotation_and_after_it_with_the_new()
    {
        EscortKeySchedule schedule = Schedule();
        uint rotation = TestVectors.Escort.GetProperty("light").GetProperty("current").GetUInt32();
        long start = rotation * 1440L;
        Assert.Equal(rotation, schedule.DeliveredRotation(start));
        Assert.Equal(rotation - 1, schedule.DeliveredRotation(start - 1));
        Assert.Equal(rotation - 1, schedule.SigningRotation(start + 9));
        Assert.Equal(rotation, schedule.SigningRotation(start + 10));
        Assert.Equal((uint)(start + 10), schedule.ChangeoverEndMinute(rotation));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(start * 60), schedule.RotationStart(rotation));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Encodes_each_valid_vector_byte_for_byte_with_the_phones_advertisement(string name)
    {
        JsonElement v = TestVectors.GetEscort(name);
        JsonElement f = v.GetProperty("frame");
        ushort area = f.GetProperty("area").GetUInt16();
        uint rotation = f.GetProperty("rotation").GetUInt32();
        var keys = new EscortKeySet(new HmacSha256(), area, EscortKeySchedule.EpochOf(rotation), Schedule().AreaKey(area, rotation));
        uint airId = _codec.AirId(keys, f.GetProperty("sessionHandle").GetUInt32());
        Assert.Equal(f.GetProperty("airId").GetUInt32(), airId);

        var buffer = new byte[EscortFrame.Length + 5];
        Assert.Equal(EscortFrame.Length, _codec.Encode(f.GetProperty("minute").GetUInt32(), airId, keys, buffer, 5));
        Assert.Equal(v.GetProperty("hex").GetString(), Convert.ToHexStringLower(buffer, 5, EscortFrame.Length));

        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(buffer, 5, EscortFrame.Length, true, advertisement, 0);
        Assert.Equal(v.GetProperty("advertisementHex").GetString(), Convert.ToHexStringLower(advertisement, 0, length));
    }

    [Theory]
    [MemberData(nameof(ValidVectors))]
    public void Opens_each_valid_vector_to_its_minute_and_air_id_and_no_other_areas_key_opens_it(string name)
    {
        JsonElement v = TestVectors.GetEscort(name);
        JsonElement f = v.GetProperty("frame");
        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        ushort area = f.GetProperty("area").GetUInt16();
        uint rotation = f.GetProperty("rotation").GetUInt32();
        Assert.Equal(FrameError.None, EscortFrame.Validate(frame, 0, frame.Length));
        Assert.Equal(area, EscortFrame.ReadArea(frame, 0));
        Assert.Equal(f.GetProperty("epoch").GetByte(), EscortFrame.ReadEpoch(frame, 0));

        EscortKeySchedule schedule = Schedule();
        var keys = new EscortKeySet(new HmacSha256(), area, EscortKeySchedule.EpochOf(rotation), schedule.AreaKey(area, rotation));
        Assert.Equal(FrameError.None, _codec.Open(frame, 0, keys, out uint minute, out uint airId));
        Assert.Equal(f.GetProperty("minute").GetUInt32(), minute);
        Assert.Equal(f.GetProperty("airId").GetUInt32(), airId);

        var otherArea = new EscortKeySet(new HmacSha256(), area, keys.Epoch, schedule.AreaKey(11260, rotation));
        var nextRotation = new EscortKeySet(new HmacSha256(), area, keys.Epoch, schedule.AreaKey(area, rotation + 1));
        Assert.Equal(FrameError.BadTag, _codec.Open(frame, 0, otherArea, out _, out _));
        Assert.Equal(FrameError.BadTag, _codec.Open(frame, 0, nextRotation, out _, out _));
    }

    [Theory]
    [MemberData(nameof(InvalidVectors))]
    public void Each_structural_reject_reason_is_the_codecs_and_a_gateway_reads_an_escort_as_no_device_frame(string name)
    {
        JsonElement v = TestVectors.GetEscort(name);
        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        string expect = v.GetProperty("expect").GetString()!;
        if (v.GetProperty("receiver").GetString() == "gateway")
        {
            Assert.Equal(FrameError.None, EscortFrame.Validate(frame, 0, frame.Length));
            Assert.Equal(expect, FrameErrorName.Of(FrameCodecV2.Validate(frame, 0, frame.Length)));
            return;
        }

        FrameError structure = EscortFrame.Validate(frame, 0, frame.Length);
        if (expect is "too_short" or "length_mismatch" or "field_out_of_range")
        {
            Assert.Equal(expect, FrameErrorName.Of(structure));
        }
        else
        {
            Assert.Equal(FrameError.None, structure);
        }
    }

    [Fact]
    public void The_air_id_differs_by_area_and_rotation_and_is_never_the_handle()
    {
        EscortKeySchedule schedule = Schedule();
        const uint Handle = 0x00C0FFEE;
        var ids = new HashSet<uint>();
        foreach (ushort area in new ushort[] { 11215, 11260 })
        {
            for (uint rotation = 20428; rotation <= 20432; rotation++)
            {
                var keys = new EscortKeySet(new HmacSha256(), area, EscortKeySchedule.EpochOf(rotation), schedule.AreaKey(area, rotation));
                Assert.True(ids.Add(_codec.AirId(keys, Handle)));
            }
        }

        Assert.DoesNotContain(Handle, ids);
    }
}
