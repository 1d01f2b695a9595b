using System.Text.Json;
using Anshimi.Protocol.Security;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Protocol.Tests;

/// <summary>The non-allocating paths (encode from fields, Validate, Verify, static readers) agree with Encode/Decode byte for byte and outcome for outcome.</summary>
public sealed class FrameCodecNonAllocatingTests
{
    private readonly FrameCodec _codec = new(new HmacSha256());

    public static IEnumerable<object[]> AllVectors => TestVectors.Names(valid: true).Concat(TestVectors.Names(valid: false));

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void Verify_gives_each_vector_the_outcome_Decode_gives(string name)
    {
        JsonElement v = TestVectors.Get(name);
        byte[] data = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        byte[] key = TestVectors.Key(v.GetProperty("key").GetString()!);

        FrameReadResult decoded = _codec.Decode(data, 0, data.Length, key);
        Assert.Equal(decoded.Error, _codec.Verify(data, 0, data.Length, key));
        if (decoded.IsOk)
        {
            Assert.Equal(decoded.Frame!.Type, FrameCodec.ReadType(data, 0));
            Assert.Equal(decoded.Frame.DeviceId, FrameCodec.ReadDeviceId(data, 0));
            Assert.Equal(decoded.Frame.Counter, FrameCodec.ReadCounter(data, 0));
        }
    }

    [Fact]
    public void Encoding_from_fields_into_a_buffer_at_an_offset_matches_encoding_the_frame()
    {
        var beacons =
            from id in ArbMap.Default.GeneratorFor<uint>()
            from counter in ArbMap.Default.GeneratorFor<uint>()
            from mode in Gen.Elements(LightMode.Schedule, LightMode.Escort, LightMode.Emergency)
            from level in Gen.Choose(0, 100)
            select (id, counter, mode, level);
        Prop.ForAll(beacons.ToArbitrary(), beacon =>
            {
                (uint id, uint counter, byte mode, int level) = beacon;
                byte[] key = TestVectors.Key("device-a");
                byte[] expected = _codec.Encode(FramePayloads.Beacon(id, counter, mode, level % 2 == 0, (byte)level), key);
                byte[] payload = [0xEE, (byte)(mode | (level % 2 == 0 ? FramePayloads.BeaconLampFault : 0)), (byte)level];
                var buffer = new byte[5 + FrameCodec.MaxAdvertisedFrameLength];
                int length = _codec.Encode(FrameType.Beacon, id, counter, 0, 0, 0, payload, 1, 2, key, buffer, 5);
                return length == expected.Length && buffer.AsSpan(5, length).SequenceEqual(expected);
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Validate_never_throws_and_agrees_with_ReadUnverified_on_random_bytes()
    {
        Prop.ForAll<byte[]>(data =>
            FrameCodec.Validate(data, 0, data?.Length ?? 0) == FrameCodec.ReadUnverified(data!, 0, data?.Length ?? 0).Error).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Encoding_from_fields_refuses_fields_out_of_range()
    {
        var buffer = new byte[64];
        Assert.Throws<ArgumentException>(() => _codec.Encode(FrameType.Alarm, 1, 1, 1000, 1, 1, [], 0, 0, new byte[32], buffer, 0));
        Assert.Throws<ArgumentException>(() => _codec.Encode(FrameType.Beacon, 1, 1, 0, 0, 0, [], 0, -1, new byte[32], buffer, 0));
    }
}
