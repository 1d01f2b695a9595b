using System.Text;
using Anshimi.Protocol.Upstream;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Protocol.Tests;

public sealed class EnvelopeSerializerTests
{
    private static readonly AlarmEnvelope Alarm = new(
        "0000A001:7", "gw-01", "0000A001", 7, new ContactIdEvent(120, 1, 1), "home",
        new SiteInfo("home", 37.5663, 126.9779, "서울특별시 중구 세종대로 110"), false,
        new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero), "110000a001");

    [Fact]
    public void An_alarm_envelope_round_trips_with_its_kind_discriminator()
    {
        byte[] json = EnvelopeSerializer.Serialize(Alarm);
        string text = Encoding.UTF8.GetString(json);

        Assert.Contains("\"kind\":\"alarm\"", text, StringComparison.Ordinal);
        Assert.Contains("\"v\":1", text, StringComparison.Ordinal);
        Assert.True(EnvelopeSerializer.TryParse(json, out Envelope? parsed, out string error), error);
        Assert.Equal(Alarm, parsed);
    }

    [Theory]
    [InlineData("{\"kind\":\"receipt\",\"v\":1,\"key\":\"0000A001:7\"}", typeof(AlarmReceiptEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"operator-ack\",\"key\":\"0000A001:7\",\"stage\":\"acknowledged\",\"operator\":\"op1\",\"at\":\"2026-11-22T00:00:00Z\"}", typeof(OperatorAckEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"gateway-heartbeat\",\"gatewayId\":\"gw\",\"at\":\"2026-11-22T00:00:00Z\",\"outboxDepth\":0}", typeof(GatewayHeartbeatEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"light-command\",\"requestId\":\"r1\",\"mode\":\"escort\",\"lights\":[\"5100002A\"],\"holdSeconds\":30,\"expiresAt\":\"2026-11-22T00:00:10Z\"}", typeof(LightCommandEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"light-outcome\",\"requestId\":\"r1\",\"gatewayId\":\"gw\",\"lightId\":\"5100002A\",\"mode\":\"escort\",\"outcome\":\"confirmed\",\"at\":\"2026-11-22T00:00:01Z\"}", typeof(LightOutcomeEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"snapshot-receipt\",\"key\":\"0000A001:7\"}", typeof(SnapshotReceiptEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"trouble\",\"key\":\"gw/1\",\"gatewayId\":\"gw\",\"deviceId\":\"0000A001\",\"event\":{\"code\":350,\"qualifier\":1,\"zone\":0},\"profile\":\"home\",\"site\":{\"kind\":\"home\",\"lat\":37.5,\"lon\":127.0,\"address\":\"a\"},\"detectedAt\":\"2026-11-22T00:00:00Z\"}", typeof(TroubleEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"device-bound\",\"gatewayId\":\"gw\",\"deviceId\":\"0000A001\",\"profile\":\"home-panic\",\"site\":{\"kind\":\"home\",\"lat\":37.5,\"lon\":127.0,\"address\":\"a\"},\"frameKey\":\"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\"}", typeof(DeviceBoundEnvelope))]
    [InlineData("{\"v\":1,\"kind\":\"device-bound-receipt\",\"deviceId\":\"0000A001\"}", typeof(DeviceBoundReceiptEnvelope))]
    public void Documented_envelopes_parse_to_their_types(string json, Type expected)
    {
        Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(json), out Envelope? parsed, out string error), error);
        Assert.IsType(expected, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"v\":1}")]
    [InlineData("{\"v\":1,\"kind\":\"nope\"}")]
    [InlineData("{\"v\":2,\"kind\":\"receipt\",\"key\":\"0000A001:7\"}")]
    [InlineData("{\"v\":1,\"kind\":\"receipt\"}")]
    [InlineData("{\"v\":1,\"kind\":\"receipt\",\"key\":null}")]
    [InlineData("{\"v\":1,\"kind\":\"receipt\",\"key\":5}")]
    [InlineData("{\"v\":1,\"kind\":\"alarm\",\"key\":\"x\"}")]
    public void Malformed_envelopes_give_an_error_not_an_exception(string json)
    {
        Assert.False(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(json), out Envelope? parsed, out string error));
        Assert.Null(parsed);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Oversized_envelopes_are_refused()
    {
        byte[] big = Encoding.UTF8.GetBytes("{\"v\":1,\"kind\":\"receipt\",\"key\":\"" + new string('a', EnvelopeSerializer.MaxEnvelopeBytes) + "\"}");
        Assert.False(EnvelopeSerializer.TryParse(big, out _, out string error));
        Assert.Contains("larger", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_light_command_naming_a_null_light_is_refused()
    {
        // The envelope fuzz target's regression input fuzz/regressions/envelope/light-command-null-light.json.
        byte[] json = Encoding.UTF8.GetBytes(
            "{\"kind\":\"light-command\",\"requestId\":\"esc-1\",\"mode\":\"escort\",\"lights\":[\"0000C001\",null],\"holdSeconds\":120,\"expiresAt\":\"2026-03-01T09:01:00+00:00\",\"v\":1}");
        Assert.False(EnvelopeSerializer.TryParse(json, out Envelope? parsed, out string error));
        Assert.Null(parsed);
        Assert.Equal("light command names a null light", error);
    }

    [Fact]
    public void Only_snapshots_may_exceed_the_ordinary_size_limit()
    {
        var image = new byte[64 * 1024];
        var snapshot = new SnapshotEnvelope("0000A001:7", "gw", "0000A001", new ContactIdEvent(150, 1, 2), Alarm.ReceivedAt, "image/jpeg", new string('0', 64), image);
        byte[] json = EnvelopeSerializer.Serialize(snapshot);

        Assert.True(json.Length > EnvelopeSerializer.MaxEnvelopeBytes);
        Assert.True(EnvelopeSerializer.TryParse(json, out Envelope? parsed, out string error), error);
        Assert.Equal(image, ((SnapshotEnvelope)parsed!).Data);

        byte[] tooBig = EnvelopeSerializer.Serialize(snapshot with { Data = new byte[EnvelopeSerializer.MaxSnapshotEnvelopeBytes] });
        Assert.False(EnvelopeSerializer.TryParse(tooBig, out _, out error));
    }

    [Fact]
    public void Random_bytes_and_truncations_never_throw()
    {
        byte[] valid = EnvelopeSerializer.Serialize(Alarm);
        Prop.ForAll<byte[], int>((bytes, cut) =>
        {
            bool randomOk = EnvelopeSerializer.TryParse(bytes, out Envelope? random, out string error);
            Assert.Equal(randomOk, random is not null);
            Assert.Equal(randomOk, error.Length == 0);
            int length = Math.Abs(cut % (valid.Length + 1));
            bool ok = EnvelopeSerializer.TryParse(valid.AsSpan(0, length), out Envelope? parsed, out _);
            return ok == (parsed is not null);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Theory]
    [InlineData("0000A001:7", true, 0xA001u, 7u)]
    [InlineData("FFFFFFFF:4294967295", true, uint.MaxValue, uint.MaxValue)]
    [InlineData("0000A001:", false, 0u, 0u)]
    [InlineData("0000A001:-1", false, 0u, 0u)]
    [InlineData("0000A001:4294967296", false, 0u, 0u)]
    [InlineData("0000A0017", false, 0u, 0u)]
    [InlineData(null, false, 0u, 0u)]
    public void Alarm_keys_parse_strictly(string? text, bool ok, uint device, uint counter)
    {
        Assert.Equal(ok, AlarmKey.TryParse(text, out AlarmKey key));
        Assert.Equal(new AlarmKey(device, counter), key);
        if (ok)
        {
            Assert.Equal(text, key.ToString());
        }
    }
}
