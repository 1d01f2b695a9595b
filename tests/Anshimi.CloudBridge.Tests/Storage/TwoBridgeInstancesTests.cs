using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Anshimi.CloudBridge.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Npgsql;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Two whole bridge hosts, as configured for a city deployment, on one PostgreSQL database and one real Mosquitto, each
/// with its own instance id and client id in one share group: a gateway's alarms are each stored once by one of them,
/// answered once, and every one shows on the live console of instance B within a second of its receipt; an ack claimed
/// by an instance that is killed reaches the gateway from the other within seconds.
/// </summary>
[Trait("Category", "HighAvailability")]
public sealed class TwoBridgeInstancesTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string GatewayUser = "gw-ha-01";

    private readonly ConcurrentQueue<Envelope> _commands = new();
    private TestStorage _storage = null!;
    private MosquittoBroker _broker = null!;
    private MqttSession _gateway = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);
        var options = new MosquittoBrokerOptions();
        options.Users[BridgeUser] = Guid.NewGuid().ToString("N");
        options.Users[GatewayUser] = Guid.NewGuid().ToString("N");
        foreach (string line in new[]
        {
            "user " + BridgeUser, "topic read anshimi/v1/gw/+/events", "topic write anshimi/v1/gw/+/commands",
            "user " + GatewayUser, "topic write anshimi/v1/gw/" + GatewayUser + "/events", "topic read anshimi/v1/gw/" + GatewayUser + "/commands",
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
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task Alarms_split_between_instances_are_stored_once_and_each_shows_on_B_console_within_a_second()
    {
        await using CloudBridgeHost a = await StartInstanceAsync("a");
        await using CloudBridgeHost b = await StartInstanceAsync("b");
        using SseReader consoleOnB = await SseReader.OpenAsync(b.Http, "/api/alarms/stream");
        Assert.Equal("ready", (await consoleOnB.NextAsync(TimeSpan.FromSeconds(10))).Event);

        const int Alarms = 12;
        List<AlarmEnvelope> alarms = [.. Enumerable.Range(1, Alarms).Select(i => TestAlarms.Alarm(0x2200 + (uint)i, 1, TestAlarms.SeoulCityHall, GatewayUser))];
        foreach (AlarmEnvelope alarm in alarms)
        {
            await PublishAsync(TestAlarms.BindingOf(alarm));
        }

        // Either instance may have taken a binding: the alarms follow once both see them in the database.
        await Eventually.HoldsAsync(async () =>
        {
            for (uint i = 1; i <= Alarms; i++)
            {
                if (await b.Bindings.FindAsync(0x2200 + i, CancellationToken.None) is null)
                {
                    return false;
                }
            }

            return true;
        }, "every device bound");

        var seenOnB = new HashSet<string>(StringComparer.Ordinal);
        foreach (AlarmEnvelope alarm in alarms)
        {
            await PublishAsync(alarm);
            await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 1, "receipt of " + alarm.Key);
            using var within = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            while (!seenOnB.Contains(alarm.Key))
            {
                (string kind, string data) = await consoleOnB.NextAsync(TimeSpan.FromSeconds(1));
                within.Token.ThrowIfCancellationRequested();
                if (kind == "alarm")
                {
                    seenOnB.Add(JsonDocument.Parse(data).RootElement.GetProperty("key").GetString()!);
                }
            }
        }

        Assert.Equal(Alarms, await a.Store.CountAsync(CancellationToken.None));
        Assert.Equal(Alarms, a.Statistics.AlarmsStored + b.Statistics.AlarmsStored);
        Assert.True(a.Statistics.AlarmsStored > 0 && b.Statistics.AlarmsStored > 0,
            $"the share group split nothing: a stored {a.Statistics.AlarmsStored}, b {b.Statistics.AlarmsStored}");
        await Task.Delay(500);
        Assert.All(alarms, alarm => Assert.Equal(1, Receipts(alarm.Key)));
    }

    [Fact]
    public async Task Acks_claimed_by_an_instance_that_is_killed_reach_the_gateway_from_the_other_within_seconds()
    {
        // A reaches the gateways through an endpoint node that hangs: its publish waits for a PUBACK that never comes, so
        // it holds its claim (twice its one-minute publish timeout) when it is killed.
        var nodeOptions = new MosquittoBrokerOptions();
        nodeOptions.Users[BridgeUser] = _broker.PasswordOf(BridgeUser);
        MosquittoBroker hungNode = await MosquittoBroker.StartAsync(nodeOptions);
        await using CloudBridgeHost b = await StartInstanceAsync("b");
        CloudBridgeHost a = await StartInstanceAsync("a", hungNode, ("CloudBridge:PublishTimeout", "00:01:00"));
        try
        {
            AlarmEnvelope alarm = TestAlarms.Alarm(0x2300, 1, TestAlarms.SeoulCityHall, GatewayUser);
            await a.InjectAsync(TestAlarms.EventsTopic(GatewayUser), alarm);
            hungNode.Freeze();
            using (HttpResponseMessage acked = await a.Http.PostAsync(new Uri($"/api/alarms/{alarm.Key}/ack", UriKind.Relative), null))
            {
                acked.EnsureSuccessStatusCode();
            }

            await Eventually.HoldsAsync(async () => await AckClaimantAsync(alarm.Key) == "cloud-bridge-a", "A claimed the ack");
            await a.CrashAsync();
            var sinceKill = Stopwatch.StartNew();
            await Eventually.HoldsAsync(
                () => Task.FromResult(_commands.OfType<OperatorAckEnvelope>().Any(k => k.Key == alarm.Key)), "the ack sent by B", TimeSpan.FromSeconds(60));
            Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(15), $"B sent the dead instance's ack {sinceKill.Elapsed} after the kill");
        }
        finally
        {
            await hungNode.KillAsync();
            await a.DisposeAsync();
            await hungNode.DisposeAsync();
        }
    }

    /// <summary>The instance holding the ack's outbox row, read as an operator would with psql.</summary>
    private async Task<string?> AckClaimantAsync(string key)
    {
        await using var connection = new NpgsqlConnection(_storage.Options.ConnectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT lease_owner FROM ack_outbox WHERE alarm_key = @key AND lease_until_ms IS NOT NULL", connection);
        query.Parameters.AddWithValue("key", key);
        return await query.ExecuteScalarAsync() as string;
    }

    private Task<CloudBridgeHost> StartInstanceAsync(string instanceId, MosquittoBroker? broker = null, params (string Key, string Value)[] extra)
    {
        broker ??= _broker;
        IDictionary<string, string?> settings = _storage.Settings;
        settings["CloudBridge:InstanceId"] = instanceId;
        settings["CloudBridge:IngressShareGroup"] = "bridges";
        settings["Mqtt:Host"] = broker.Host;
        settings["Mqtt:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture);
        settings["Mqtt:Username"] = BridgeUser;
        settings["Mqtt:Password"] = broker.PasswordOf(BridgeUser);
        settings["Mqtt:ClientId"] = "cloud-bridge-" + instanceId;
        foreach ((string key, string value) in extra)
        {
            settings[key] = value;
        }

        return CloudBridgeHost.StartAsync(settings: settings);
    }

    private Task PublishAsync(Envelope envelope) =>
        _gateway.PublishAsync(TestAlarms.EventsTopic(GatewayUser), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private int Receipts(string key) => _commands.OfType<AlarmReceiptEnvelope>().Count(r => r.Key == key);
}
