using System.Diagnostics;
using System.Text;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Protocol.Tests;

/// <summary>The optional W3C trace context of an alarm envelope (protocol/README.md §5).</summary>
public sealed class EnvelopeTraceContextTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static readonly AlarmEnvelope Alarm = new(
        "0000A001:7", "gw-01", "0000A001", 7, new ContactIdEvent(120, 1, 1), "home",
        new SiteInfo("home", 37.5663, 126.9779, "서울특별시 중구 세종대로 110"), false,
        new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero), "110000a001");

    [Fact]
    public void Traceparent_and_tracestate_round_trip_and_name_the_remote_parent()
    {
        AlarmEnvelope traced = Alarm with { TraceParent = TraceParent, TraceState = "anshimi=gw-01" };

        string json = Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(traced));
        Assert.Contains("\"traceparent\":\"" + TraceParent + "\"", json, StringComparison.Ordinal);
        Assert.Contains("\"tracestate\":\"anshimi=gw-01\"", json, StringComparison.Ordinal);

        Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(json), out Envelope? parsed, out string error), error);
        AlarmEnvelope alarm = Assert.IsType<AlarmEnvelope>(parsed);
        Assert.Equal(traced, alarm);
        Assert.True(alarm.TryGetParent(out ActivityContext parent));
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", parent.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", parent.SpanId.ToHexString());
        Assert.True(parent.IsRemote);
        Assert.Equal(ActivityTraceFlags.Recorded, parent.TraceFlags);
        Assert.Equal("anshimi=gw-01", parent.TraceState);
    }

    [Fact]
    public void An_activity_s_context_goes_into_the_envelope_and_comes_back_out()
    {
        using var activity = new Activity("alarm.send");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.TraceStateString = "anshimi=1";
        activity.Start();

        AlarmEnvelope traced = Alarm.WithTraceContext(activity);

        Assert.Equal(activity.Id, traced.TraceParent);
        Assert.True(traced.TryGetParent(out ActivityContext parent));
        Assert.Equal(activity.TraceId, parent.TraceId);
        Assert.Equal(activity.SpanId, parent.SpanId);
        Assert.Same(Alarm, Alarm.WithTraceContext(null));
    }

    [Fact]
    public void Without_trace_context_the_envelope_is_written_as_before_and_has_no_parent()
    {
        string json = Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(Alarm));

        Assert.DoesNotContain("trace", json, StringComparison.Ordinal);
        Assert.False(Alarm.TryGetParent(out ActivityContext parent));
        Assert.Equal(default, parent);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0")]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")]
    [InlineData("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01")]
    [InlineData("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01")]
    [InlineData("00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra")]
    public void A_malformed_traceparent_is_ignored_and_the_alarm_still_parses(string traceParent)
    {
        byte[] json = EnvelopeSerializer.Serialize(Alarm with { TraceParent = traceParent, TraceState = "a=b" });

        Assert.True(EnvelopeSerializer.TryParse(json, out Envelope? parsed, out string error), error);
        AlarmEnvelope alarm = Assert.IsType<AlarmEnvelope>(parsed);
        Assert.False(alarm.TryGetParent(out ActivityContext parent));
        Assert.Equal(default, parent);
        Assert.Equal(Alarm.Key, alarm.Key);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{\"a\":[1,2,{\"b\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}]}")]
    [InlineData("[\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"]")]
    public void A_traceparent_that_is_not_a_string_reads_as_absent_and_the_rest_of_the_alarm_is_kept(string value)
    {
        string json = Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(Alarm)).TrimEnd('}')
            + ",\"traceparent\":" + value + ",\"tracestate\":" + value + "}";

        Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(json), out Envelope? parsed, out string error), error);
        AlarmEnvelope alarm = Assert.IsType<AlarmEnvelope>(parsed);
        Assert.Null(alarm.TraceParent);
        Assert.Null(alarm.TraceState);
        Assert.Equal(Alarm, alarm);
    }

    [Fact]
    public void A_tracestate_that_is_too_long_or_not_printable_is_dropped_and_the_parent_kept()
    {
        foreach (string state in new[] { new string('a', EnvelopeTraceContext.MaxTraceStateLength + 1), "a=b\n", "a=\u00e9" })
        {
            AlarmEnvelope alarm = Alarm with { TraceParent = TraceParent, TraceState = state };

            Assert.True(alarm.TryGetParent(out ActivityContext parent));
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", parent.TraceId.ToHexString());
            Assert.Null(parent.TraceState);
        }
    }

    [Fact]
    public void A_receiver_that_knows_no_trace_fields_reads_a_traced_alarm_like_any_other()
    {
        // The documented alarm of §5 with the optional fields added parses to the same alarm as without them.
        const string Plain = "{\"kind\":\"alarm\",\"v\":1,\"key\":\"0000A001:7\",\"gatewayId\":\"gw-demo\",\"deviceId\":\"0000A001\",\"counter\":7," +
            "\"event\":{\"code\":120,\"qualifier\":1,\"zone\":1},\"profile\":\"home\",\"site\":{\"kind\":\"home\",\"lat\":37.5663,\"lon\":126.9779,\"address\":\"a\"}," +
            "\"test\":false,\"receivedAt\":\"2026-11-22T00:00:00.123+00:00\",\"frame\":\"110000a001\"";
        Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(Plain + "}"), out Envelope? plain, out string error), error);
        Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(Plain + ",\"traceparent\":\"" + TraceParent + "\"}"), out Envelope? traced, out error), error);

        Assert.Equal(plain, ((AlarmEnvelope)traced!) with { TraceParent = null });
    }
}
