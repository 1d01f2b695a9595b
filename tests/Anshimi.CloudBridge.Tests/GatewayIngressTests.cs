using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

public sealed class GatewayIngressTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Relay_connects_and_subscribes_to_every_gateways_events()
    {
        await Eventually.HoldsAsync(() => _mqtt.Subscriptions.Contains(Topics.AllGatewayEvents), "subscription");
    }

    [Fact]
    public async Task An_alarm_is_stored_with_its_district_and_answered_with_a_receipt()
    {
        using AlarmSubscription live = _host.Feed.Subscribe();

        AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 5, TestAlarms.SeoulCityHall);
        await _host.BindAsync(TestAlarms.EventsTopic(), alarm);
        _mqtt.Deliver(TestAlarms.EventsTopic(), alarm);

        await Eventually.HoldsAsync(() => _mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()).Count == 1, "receipt");
        AlarmRecord stored = (await _host.Store.FindAsync("0000A1B2:5", CancellationToken.None))!;
        Assert.Equal("11140", stored.DistrictCode);
        Assert.Equal(TestAlarms.Gateway, stored.GatewayId);
        Assert.Equal("0000A1B2:5", _mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic())[0].Key);
        Assert.True(live.Reader.TryRead(out AlarmFeedEvent? feedEvent));
        Assert.Equal(AlarmFeedEvent.NewAlarm, feedEvent.Kind);
        Assert.Equal("중구", feedEvent.Alarm.District.NameKo);
    }

    [Fact]
    public async Task A_duplicate_is_stored_once_but_its_receipt_is_sent_again_and_consoles_hear_it_once()
    {
        using AlarmSubscription live = _host.Feed.Subscribe();
        AlarmEnvelope alarm = TestAlarms.Alarm(0xB0, 7);

        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm with { ReceivedAt = DateTimeOffset.UtcNow.AddSeconds(3) });

        Assert.Equal(1, await _host.Store.CountAsync(CancellationToken.None));
        Assert.Equal(2, _mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()).Count(r => r.Key == alarm.Key));
        Assert.Equal(1, _host.Statistics.Duplicates);
        Assert.True(live.Reader.TryRead(out _));
        Assert.False(live.Reader.TryRead(out _));
    }

    [Fact]
    public async Task An_alarm_outside_Seoul_is_kept_with_an_unknown_district()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xC0, 1, TestAlarms.BusanStation));

        AlarmRecord stored = (await _host.Store.FindAsync("000000C0:1", CancellationToken.None))!;
        Assert.Equal("unknown", stored.DistrictCode);
        Assert.Single(_mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()));
    }

    public static TheoryData<string, string> MalformedMessages()
    {
        string valid = Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(TestAlarms.Alarm(0xD0, 1)));
        string events = TestAlarms.EventsTopic();
        return new TheoryData<string, string>
        {
            { events, "" },
            { events, "not json" },
            { events, "{}" },
            { events, "[1,2,3]" },
            { events, valid[..(valid.Length / 2)] },
            { events, valid.Replace("\"v\":1", "\"v\":2", StringComparison.Ordinal) },
            { events, valid.Replace("\"kind\":\"alarm\"", "\"kind\":\"bogus\"", StringComparison.Ordinal) },
            { events, valid.Replace("\"key\":\"000000D0:1\"", "\"key\":\"000000D0:2\"", StringComparison.Ordinal) },
            { events, valid.Replace("\"key\":\"000000D0:1\"", "\"key\":\"garbage\"", StringComparison.Ordinal) },
            { events, valid.Replace("\"gatewayId\":\"gw-test-01\"", "\"gatewayId\":\"gw-other\"", StringComparison.Ordinal) },
            { events, valid.Replace("\"site\":{", "\"site\":null,\"x\":{", StringComparison.Ordinal) },
            { events, valid.Replace("\"code\":120", "\"code\":5000", StringComparison.Ordinal) },
            { events, Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("000000D0:1"))) },
            { events, Encoding.UTF8.GetString(EnvelopeSerializer.Serialize(new AckRelayedEnvelope("000000D0:1", "bogus"))) },
            { "anshimi/v1/gw/gw-test-01/commands", valid },
            { "something/else", valid },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public async Task Malformed_envelopes_are_dropped_and_counted_and_change_nothing(string topic, string payload)
    {
        await _host.BindAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xD0, 1));
        int answered = _mqtt.Published.Count;
        await _host.Ingress.HandleAsync(topic, Encoding.UTF8.GetBytes(payload), CancellationToken.None);

        Assert.Equal(1, _host.Statistics.Malformed);
        Assert.Equal(0, await _host.Store.CountAsync(CancellationToken.None));
        Assert.Equal(answered, _mqtt.Published.Count);
    }

    [Fact]
    public async Task Random_bytes_and_truncated_envelopes_never_crash_the_relay_or_touch_the_store()
    {
        var random = new Random(20240601);
        AlarmEnvelope alarm = TestAlarms.Alarm(0xE0, 1);
        await _host.BindAsync(TestAlarms.EventsTopic(), alarm);
        byte[] valid = EnvelopeSerializer.Serialize(alarm);
        int sent = 0;
        for (int i = 0; i < 300; i++)
        {
            byte[] junk = new byte[random.Next(0, 400)];
            random.NextBytes(junk);
            _mqtt.Deliver(TestAlarms.EventsTopic(), junk);
            _mqtt.Deliver(TestAlarms.EventsTopic(), valid[..random.Next(0, valid.Length - 1)]);
            sent += 2;
        }

        _mqtt.Deliver(TestAlarms.EventsTopic(), valid);

        await Eventually.HoldsAsync(() => _mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()).Count == 1, "receipt for the one valid alarm");
        Assert.Equal(sent, _host.Statistics.Malformed);
        Assert.Equal(1, await _host.Store.CountAsync(CancellationToken.None));
        HttpResponseMessage health = await _host.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task A_heartbeat_records_when_the_gateway_was_last_seen()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), new GatewayHeartbeatEnvelope(TestAlarms.Gateway, DateTimeOffset.UtcNow, 3));

        JsonElement gateways = await _host.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/gateways", UriKind.Relative));
        JsonElement gateway = Assert.Single(gateways.EnumerateArray());
        Assert.Equal(TestAlarms.Gateway, gateway.GetProperty("gatewayId").GetString());
        Assert.Equal(3, gateway.GetProperty("outboxDepth").GetInt32());
        Assert.Equal(1, _host.Statistics.Heartbeats);
    }

    [Fact]
    public async Task A_heartbeat_naming_another_gateway_is_dropped()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), new GatewayHeartbeatEnvelope("gw-other", DateTimeOffset.UtcNow, 0));

        Assert.Equal(1, _host.Statistics.Malformed);
        Assert.Empty(await _host.Store.ListGatewaysAsync(CancellationToken.None));
    }
}
