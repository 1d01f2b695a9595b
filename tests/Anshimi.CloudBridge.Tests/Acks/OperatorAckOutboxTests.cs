using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Acks;

/// <summary>
/// Operator acknowledgements on their way to the gateway, on virtual time: the bridge's resend delays
/// (200 ms doubling to 800 ms in <see cref="CloudBridgeHost"/>) pass only when the test moves the clock.
/// </summary>
public sealed class OperatorAckOutboxTests : IAsyncLifetime
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    private readonly FakeMqttClient _mqtt = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await CloudBridgeHost.StartAsync(_mqtt, configure: services => services.AddSingleton<TimeProvider>(_clock));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_acknowledgement_is_resent_after_growing_delays_until_the_gateway_relays_it_and_never_after()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 9), later = TestAlarms.Alarm(0xA1B3, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        await _host.InjectAsync(TestAlarms.EventsTopic(), later);

        HttpResponseMessage response = await AckAsync(alarm.Key);

        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("acknowledged", body.GetProperty("state").GetString());
        Assert.Equal(TestOperators.Central.UserName, body.GetProperty("timeline")[2].GetProperty("actor").GetString());
        await Eventually.HoldsAsync(() => Acks(alarm.Key).Count == 1, "the acknowledgement sent at once");
        DateTimeOffset firstSent = _clock.GetUtcNow();
        await _clock.AdvanceUntilAsync(Step, () => Acks(alarm.Key).Count >= 3, "the acknowledgement re-sent twice");
        Assert.True(_clock.GetUtcNow() - firstSent >= TimeSpan.FromMilliseconds(200 + 400), "two resends within " + (_clock.GetUtcNow() - firstSent));
        Assert.All(Acks(alarm.Key), ack => Assert.Equal(("acknowledged", TestOperators.Central.UserName), (ack.Stage, ack.Operator)));

        await _host.InjectAsync(TestAlarms.EventsTopic(), new AckRelayedEnvelope(alarm.Key, "acknowledged"));

        // The outbox makes one pass at a time: once a later ack's first send is out, no pass that began
        // before the relay is left. Its three resends then span 1.4 s, past any delay the relayed one had.
        await AckAsync(later.Key);
        await Eventually.HoldsAsync(() => Acks(later.Key).Count == 1, "the later acknowledgement sent at once");
        int afterRelay = Acks(alarm.Key).Count;
        await _clock.AdvanceUntilAsync(Step, () => Acks(later.Key).Count >= 4, "the later acknowledgement re-sent three times");

        Assert.Equal(afterRelay, Acks(alarm.Key).Count);
        JsonElement stored = await _host.Http.GetFromJsonAsync<JsonElement>(new Uri($"/api/alarms/{alarm.Key}", UriKind.Relative));
        Assert.Contains("acknowledged-relayed", stored.GetProperty("timeline").EnumerateArray().Select(t => t.GetProperty("stage").GetString()));
    }

    [Fact]
    public async Task Acks_stored_while_the_broker_is_unreachable_go_out_as_soon_as_it_is_back()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xF1, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        _mqtt.FailPublishes = true;

        (await _host.Http.PostAsync(new Uri($"/api/alarms/{alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await Eventually.HoldsAsync(
            async () => (await _host.Store.ClaimDueAcksAsync("test", DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch, TimeSpan.Zero, 10, CancellationToken.None)).Any(a => a.Key == alarm.Key && a.Attempts >= 1),
            "a failed send recorded");
        _mqtt.FailPublishes = false;
        _mqtt.DropConnection("broker restarted");

        // The clock stands still, so no resend delay ends: only the reconnect can send it now.
        await Eventually.HoldsAsync(
            () => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Any(a => a.Key == alarm.Key && a.Stage == "resolved" && a.Operator == TestOperators.Central.UserName),
            "the resolve sent after reconnecting");
    }

    private async Task<HttpResponseMessage> AckAsync(string key)
    {
        HttpResponseMessage response = await _host.Http.PostAsync(new Uri($"/api/alarms/{key}/ack", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        return response;
    }

    private List<OperatorAckEnvelope> Acks(string key) =>
        [.. _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Where(a => a.Key == key)];
}
