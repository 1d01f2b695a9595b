using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;

namespace Anshimi.CloudBridge.Tests;

/// <summary>The bridge and a gateway peer on a real mosquitto with per-user credentials and ACLs.</summary>
[Trait("Category", "Integration")]
public sealed class MosquittoRelayTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string GatewayUser = "gw-it-01";

    private readonly ConcurrentQueue<Envelope> _commands = new();
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("cloud-bridge-it-").FullName;
    private MosquittoBroker _broker = null!;
    private MqttSession _gateway = null!;

    public async Task InitializeAsync()
    {
        var options = new MosquittoBrokerOptions();
        options.Users[BridgeUser] = Guid.NewGuid().ToString("N");
        options.Users[GatewayUser] = Guid.NewGuid().ToString("N");
        foreach (string line in new[]
        {
            "user " + BridgeUser,
            "topic read anshimi/v1/gw/+/events",
            "topic write anshimi/v1/gw/+/commands",
            "user " + GatewayUser,
            "topic write anshimi/v1/gw/" + GatewayUser + "/events",
            "topic read anshimi/v1/gw/" + GatewayUser + "/commands",
        })
        {
            options.AclLines.Add(line);
        }

        _broker = await MosquittoBroker.StartAsync(options);
        _gateway = MqttSession.Create(_broker.ClientOptions(GatewayUser));
        _gateway.AddSubscription(TestAlarms.CommandsTopic(GatewayUser), MqttQos.AtLeastOnce, (message, _) =>
        {
            if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
            {
                _commands.Enqueue(envelope!);
            }

            return Task.CompletedTask;
        });
        await _gateway.ConnectAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _broker.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task An_alarm_and_its_duplicate_are_stored_once_and_each_gets_a_receipt()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        AlarmEnvelope alarm = TestAlarms.Alarm(0x1234, 1, TestAlarms.SeoulCityHall, GatewayUser);

        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 1, "first receipt");
        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 2, "receipt for the duplicate");

        Assert.Equal(1, await bridge.Store.CountAsync(CancellationToken.None));
        Assert.Equal("11140", (await bridge.Store.FindAsync(alarm.Key, CancellationToken.None))!.DistrictCode);
    }

    [Fact]
    public async Task An_operator_ack_reaches_the_gateway_and_stops_once_relayed()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        AlarmEnvelope alarm = TestAlarms.Alarm(0x2345, 1, gatewayId: GatewayUser);
        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 1, "receipt");

        using HttpClient gangnam = await bridge.SignedInAsync(TestOperators.Gangnam);
        HttpResponseMessage response = await gangnam.PostAsync(new Uri($"/api/alarms/{alarm.Key}/ack", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();
        await Eventually.HoldsAsync(() => OperatorAcks(alarm.Key).Count > 0, "operator ack at the gateway");
        Assert.Equal(("acknowledged", TestOperators.Gangnam.UserName), (OperatorAcks(alarm.Key)[0].Stage, OperatorAcks(alarm.Key)[0].Operator));

        await PublishAsync(new AckRelayedEnvelope(alarm.Key, "acknowledged"));
        await Eventually.HoldsAsync(
            async () => (await bridge.Store.FindAsync(alarm.Key, CancellationToken.None))!.Timeline.Any(t => t.Stage == "acknowledged-relayed"),
            "relay recorded");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a send already under way may still land
        int sent = OperatorAcks(alarm.Key).Count;
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(sent, OperatorAcks(alarm.Key).Count);
    }

    [Fact]
    public async Task An_alarm_sent_while_the_bridge_is_down_is_delivered_by_its_persistent_session()
    {
        await (await StartBridgeAsync()).DisposeAsync();
        AlarmEnvelope alarm = TestAlarms.Alarm(0x3456, 1, gatewayId: GatewayUser);

        await PublishAsync(alarm);
        await Task.Delay(300);
        Assert.Equal(0, Receipts(alarm.Key));

        await using CloudBridgeHost bridge = await StartBridgeAsync();
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 1, "receipt after the bridge came back");
        JsonElement stored = await bridge.Http.GetFromJsonAsync<JsonElement>(new Uri($"/api/alarms/{alarm.Key}", UriKind.Relative));
        Assert.Equal("open", stored.GetProperty("state").GetString());
    }

    private Task<CloudBridgeHost> StartBridgeAsync() => CloudBridgeHost.StartAsync(
        settings: new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = _broker.Host,
            ["Mqtt:Port"] = _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = BridgeUser,
            ["Mqtt:Password"] = _broker.PasswordOf(BridgeUser),
            ["Mqtt:ClientId"] = "cloud-bridge-it",
        },
        dataDirectory: _dataDirectory);

    /// <summary>Publishes as the gateway; an alarm's device is bound first, as the gateway does before its first status.</summary>
    private async Task PublishAsync(Envelope envelope)
    {
        if (envelope is AlarmEnvelope alarm)
        {
            await PublishOnceAsync(TestAlarms.BindingOf(alarm));
        }

        await PublishOnceAsync(envelope);
    }

    private Task PublishOnceAsync(Envelope envelope) =>
        _gateway.PublishAsync(TestAlarms.EventsTopic(GatewayUser), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private int Receipts(string key) => _commands.OfType<AlarmReceiptEnvelope>().Count(r => r.Key == key);

    private List<OperatorAckEnvelope> OperatorAcks(string key) => _commands.OfType<OperatorAckEnvelope>().Where(a => a.Key == key).ToList();
}
