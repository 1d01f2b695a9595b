using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests;

public sealed class HostileInputTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [InlineData(new byte[0], "too_short")]
    [InlineData(new byte[] { 0x11 }, "too_short")]
    [InlineData(new byte[] { 0x31, 0, 0, 0xA1, 0xB2 }, "unknown_version")]
    [InlineData(new byte[] { 0x20, 0, 0, 0xA1, 0xB2 }, "too_short")]
    [InlineData(new byte[] { 0x1F, 0, 0, 0xA1, 0xB2 }, "unknown_type")]
    public async Task Malformed_bytes_are_rejected_with_their_reason(byte[] payload, string reason)
    {
        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(_gateway.Devices[0].UplinkTopic, payload, CancellationToken.None);

        Assert.Equal(UplinkResult.Reject(reason), result);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_frames_rejected_total{reason=\"" + reason + "\"}"));
    }

    [Fact]
    public void A_message_on_a_topic_nobody_subscribed_is_dropped_and_counted_on_metrics()
    {
        Assert.Equal(0, _gateway.Metric("anshimi_gateway_mqtt_messages_dropped_total{reason=\"unmatched\"}"));

        _gateway.Mqtt.Deliver("anshimi/v1/not-a-gateway-topic/x", [1, 2, 3]);
        _gateway.Mqtt.Deliver("$SYS/broker/uptime", [4]);

        Assert.Equal(2, _gateway.Metric("anshimi_gateway_mqtt_messages_dropped_total{reason=\"unmatched\"}"));
        Assert.Equal(0, Prometheus.Value(_gateway.ScrapeMetrics(), "anshimi_gateway_mqtt_messages_dropped_total{reason=\"handler_failed\"}", absent: -1));
    }

    [Fact]
    public async Task Truncated_and_extended_frames_are_rejected()
    {
        TestDevice bell = _gateway.Devices[0];
        byte[] alarm = bell.Alarm(1);
        for (int length = 0; length < alarm.Length; length++)
        {
            UplinkResult truncated = await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, alarm[..length], CancellationToken.None);
            Assert.Equal(UplinkOutcome.Rejected, truncated.Outcome);
        }

        UplinkResult extended = await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, [.. alarm, 0], CancellationToken.None);
        Assert.Equal(UplinkResult.Reject("length_mismatch"), extended);
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM alarms"));
    }

    [Fact]
    public async Task Thousands_of_random_and_mutated_frames_are_all_rejected_counted_and_change_nothing()
    {
        var random = new Random(20260304);
        TestDevice bell = _gateway.Devices[0];
        TestDevice shop = _gateway.Devices[1];

        // One real alarm first, so duplicates and replays of stored state are in play too.
        await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(100), CancellationToken.None);
        string before = Snapshot();
        _gateway.Mqtt.Clear();
        long rejectedBefore = RejectedTotal();

        byte[][] genuine = [bell.Alarm(101), bell.Alarm(5000, ContactIdCode.Duress, 3), bell.Heartbeat(102), shop.Alarm(1), shop.Heartbeat(2)];
        string[] topics = [bell.UplinkTopic, shop.UplinkTopic, Topics.DeviceUplink(0xDEADBEEF), "anshimi/v1/d/0000a1b2/up"];
        const int Rounds = 4000;
        for (int i = 0; i < Rounds; i++)
        {
            byte[] payload = (i % 4) switch
            {
                0 => RandomBytes(random, random.Next(0, 300)),
                1 => StructurallyValid(random, i % 8 == 1 ? bell.Id : (uint)random.Next()),
                _ => Mutate(random, genuine[random.Next(genuine.Length)]),
            };
            string topic = topics[random.Next(topics.Length)];

            UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(topic, payload, CancellationToken.None);

            Assert.Equal(UplinkOutcome.Rejected, result.Outcome);
        }

        Assert.Equal(before, Snapshot());
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(Rounds, RejectedTotal() - rejectedBefore);
        Assert.True(_gateway.Metric("anshimi_gateway_frames_rejected_total{reason=\"bad_tag\"}") > 100);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Header and length right, tag wrong: only the key check can refuse it.</summary>
    private static byte[] StructurallyValid(Random random, uint deviceId)
    {
        byte[] frame = RandomBytes(random, FrameCodec.MinFrameLength);
        frame[0] = 0x11;
        frame[1] = (byte)(deviceId >> 24);
        frame[2] = (byte)(deviceId >> 16);
        frame[3] = (byte)(deviceId >> 8);
        frame[4] = (byte)deviceId;
        frame[9] = 0x10;
        frame[10] = 120;
        frame[11] = 0;
        frame[12] = 1;
        frame[13] = 0;
        return frame;
    }

    /// <summary>A genuine frame with at least one byte really changed, or cut, or grown.</summary>
    private static byte[] Mutate(Random random, byte[] genuine)
    {
        switch (random.Next(3))
        {
            case 0:
                return genuine[..random.Next(genuine.Length)];
            case 1:
                return [.. genuine, .. RandomBytes(random, random.Next(1, 8))];
            default:
                byte[] copy = (byte[])genuine.Clone();
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++)
                {
                    copy[random.Next(copy.Length)] ^= (byte)random.Next(1, 256);
                }

                return copy.AsSpan().SequenceEqual(genuine) ? copy[1..] : copy;
        }
    }

    private long RejectedTotal()
    {
        long total = 0;
        foreach (string line in _gateway.ScrapeMetrics().Split('\n'))
        {
            if (line.StartsWith("anshimi_gateway_frames_rejected_total{", StringComparison.Ordinal))
            {
                total += long.Parse(line[(line.IndexOf('}', StringComparison.Ordinal) + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    private string Snapshot() =>
        string.Join('|', _gateway.Count("SELECT count(*) FROM alarms"), _gateway.Count("SELECT count(*) FROM outbox"),
            _gateway.Count("SELECT total(highest_counter) FROM devices"), _gateway.Count("SELECT total(downlink_counter) FROM devices"),
            _gateway.Count("SELECT total(heartbeat_counter) FROM devices"), _gateway.Registry.Snapshot().Sum(d => (long)d.HighestCounter + d.HeartbeatCounter));
}
