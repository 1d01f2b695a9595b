using System.Collections.Concurrent;
using System.Data.Common;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Ingress;

/// <summary>
/// Bursts of alarms from one gateway through a real Mosquitto into the bridge's real store, on each storage engine: the
/// alarms waiting together are committed in one transaction before any of their receipts, each is stored once and
/// receipted once; a receipt lost between the commit and its PUBACK is answered again when the gateway re-sends; a
/// burst whose transaction fails is stored and receipted not at all.
/// </summary>
public abstract class AlarmBurstTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string GatewayUser = "gw-burst-01";
    private const int Burst = 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<Envelope> _commands = new();
    private readonly StoreEvents _events = new();
    private TestStorage _storage = null!;
    private MosquittoBroker _broker = null!;
    private MqttSession _gateway = null!;

    protected abstract StorageProvider Provider { get; }

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(Provider);
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
        _events.Release();
        await _gateway.DisposeAsync();
        await _broker.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task A_burst_is_committed_in_one_transaction_before_its_receipts_and_each_alarm_is_stored_and_receipted_once_in_order()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        using AlarmSubscription console = bridge.Feed.Subscribe();
        List<AlarmEnvelope> alarms = await BoundAlarmsAsync(0x3100, Burst + 1);

        // The first alarm is held inside its transaction until the rest of the burst waits behind it.
        _events.HoldAt(alarms[0].Key);
        await PublishAsync(alarms[0]);
        await _events.HeldAsync(Wait);
        foreach (AlarmEnvelope alarm in alarms.Skip(1))
        {
            await PublishAsync(alarm);
        }

        await Eventually.HoldsAsync(() => bridge.Ingress.Waiting == Burst, "the burst waiting behind the held alarm", Wait);
        _events.Release();
        await Eventually.HoldsAsync(() => alarms.All(a => Receipts(a.Key) >= 1), "a receipt for every alarm", Wait);

        List<string> burst = [.. alarms.Skip(1).Select(a => a.Key)];
        IReadOnlyList<string> log = _events.Log;
        int lastInsert = burst.Max(key => log.ToList().LastIndexOf("insert " + key));
        int firstCommit = burst.Min(key => log.ToList().IndexOf("committed " + key));
        Assert.True(lastInsert < firstCommit, "every insert of the burst comes before its commit:\n" + string.Join("\n", log));
        Assert.Single(burst.Select(key => _events.ConnectionOf(key)).Distinct());

        Assert.All(alarms, a => Assert.Equal(1, Receipts(a.Key)));
        Assert.Equal(Burst + 1, await bridge.Store.CountAsync(CancellationToken.None));
        Assert.Equal(Burst + 1, bridge.Statistics.AlarmsStored);
        Assert.Equal(0, bridge.Statistics.ReceiptsFailed);

        // Consoles and the receivers' outbox (store order) see the alarms in the order the gateway sent them.
        Assert.Equal(alarms.Select(a => a.Key), ReadFeed(console, alarms.Count));
        IReadOnlyList<AlarmRecord> stored = await bridge.Store.ListAsync(alarms.Count, CancellationToken.None);
        Assert.Equal(alarms.Select(a => a.Key), stored.Reverse().Select(a => a.Key));
    }

    [Fact]
    public async Task A_receipt_lost_with_the_broker_between_commit_and_PUBACK_is_answered_again_when_the_gateway_resends_without_a_duplicate()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        using AlarmSubscription console = bridge.Feed.Subscribe();
        AlarmEnvelope alarm = (await BoundAlarmsAsync(0x3200, 1))[0];
        MqttSession bridgeSession = bridge.Services.GetRequiredService<MqttSession>();

        // Committed: from here the broker reads nothing more, so the receipt goes out and its PUBACK never comes.
        _events.OnCommitted(alarm.Key, _broker.Freeze);
        _ = _gateway.StartPublish(TestAlarms.EventsTopic(GatewayUser), EnvelopeSerializer.Serialize(alarm), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);
        await Eventually.HoldsAsync(() => bridgeSession.PublishesInFlight > 0, "the receipt in flight", Wait);
        await _broker.KillAsync();
        await Eventually.HoldsAsync(() => bridge.Statistics.ReceiptsFailed == 1, "the lost receipt counted", Wait);
        Assert.Equal(0, Receipts(alarm.Key));
        Assert.Equal(1, await bridge.Store.CountAsync(CancellationToken.None));

        // The gateway has no receipt, so its outbox sends the alarm again once the link is back.
        await _broker.StartAsync();
        await Eventually.HoldsAsync(() => bridge.Ingress.IsSubscribed && _gateway.IsConnected, "both back on the broker", Wait);
        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) >= 1, "the receipt for the re-sent alarm", Wait);

        Assert.Equal(1, await bridge.Store.CountAsync(CancellationToken.None));
        Assert.Equal(1, bridge.Statistics.AlarmsStored);
        Assert.True(bridge.Statistics.Duplicates >= 1, "the copy was answered as a duplicate");
        Assert.Equal([alarm.Key], ReadFeed(console, 1));
        Assert.False(console.Reader.TryRead(out _), "the console heard the alarm once");
    }

    [Fact]
    public async Task A_burst_whose_transaction_fails_is_neither_stored_nor_receipted_and_is_taken_whole_when_resent()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        List<AlarmEnvelope> alarms = await BoundAlarmsAsync(0x3300, Burst + 2);
        AlarmEnvelope held = alarms[0];
        List<AlarmEnvelope> burst = alarms[1..^1];
        AlarmEnvelope after = alarms[^1];

        // The database refuses the burst's last alarm, so its transaction rolls back with every alarm before it.
        await RefuseAsync(bridge, burst[^1].Key);
        _events.HoldAt(held.Key);
        await PublishAsync(held);
        await _events.HeldAsync(Wait);
        foreach (AlarmEnvelope alarm in burst)
        {
            await PublishAsync(alarm);
        }

        await Eventually.HoldsAsync(() => bridge.Ingress.Waiting == burst.Count, "the burst waiting behind the held alarm", Wait);
        _events.Release();
        await Eventually.HoldsAsync(() => bridge.Statistics.Failed == burst.Count, "the whole burst counted as failed", Wait);

        // Envelopes are taken in order: once the next alarm is answered, any receipt of the burst would have gone out.
        await PublishAsync(after);
        await Eventually.HoldsAsync(() => Receipts(after.Key) == 1, "the receipt for the alarm after the burst", Wait);
        Assert.Equal(1, Receipts(held.Key));
        Assert.All(burst, a => Assert.Equal(0, Receipts(a.Key)));
        foreach (AlarmEnvelope alarm in burst)
        {
            Assert.Null(await bridge.Store.FindAsync(alarm.Key, CancellationToken.None));
        }

        await AllowAsync(bridge);
        foreach (AlarmEnvelope alarm in burst)
        {
            await PublishAsync(alarm);
        }

        await Eventually.HoldsAsync(() => burst.All(a => Receipts(a.Key) == 1), "a receipt for every re-sent alarm", Wait);
        Assert.Equal(alarms.Count, await bridge.Store.CountAsync(CancellationToken.None));
        Assert.Equal(0, bridge.Statistics.Duplicates);
    }

    [Fact]
    public async Task An_alarm_the_consoles_heard_of_before_its_commit_failed_cuts_every_console_off_and_is_announced_again_when_stored()
    {
        await using CloudBridgeHost bridge = await StartBridgeAsync();
        AlarmSubscription console = bridge.Feed.Subscribe();
        AlarmEnvelope alarm = (await BoundAlarmsAsync(0x3400, 1))[0];

        // Every statement of the transaction succeeds; only its commit is refused, as a failing disk would refuse it.
        await RefuseCommitAsync(bridge, alarm.Key);
        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => bridge.Statistics.Failed == 1, "the alarm's commit failed", Wait);

        // The console heard of the alarm before the commit and was then cut off: it reconnects and reloads its list from
        // the store, which does not hold the alarm, so no console keeps showing it.
        Assert.Equal([alarm.Key], ReadFeed(console, 1));
        await console.Reader.Completion.WaitAsync(Wait);
        Assert.Null(await bridge.Store.FindAsync(alarm.Key, CancellationToken.None));
        Assert.Equal(0, Receipts(alarm.Key));

        // The gateway, never receipted, sends the alarm again: stored, announced to the console that came back, receipted.
        using AlarmSubscription reconnected = bridge.Feed.Subscribe();
        await AllowCommitAsync(bridge);
        await PublishAsync(alarm);
        await Eventually.HoldsAsync(() => Receipts(alarm.Key) == 1, "the receipt for the re-sent alarm", Wait);
        Assert.NotNull(await bridge.Store.FindAsync(alarm.Key, CancellationToken.None));
        Assert.Equal([alarm.Key], ReadFeed(reconnected, 1));
        Assert.Equal(1, bridge.Statistics.AlarmsStored);
    }

    private Task<CloudBridgeHost> StartBridgeAsync()
    {
        var settings = new Dictionary<string, string?>(_storage.Settings)
        {
            ["Mqtt:Host"] = _broker.Host,
            ["Mqtt:Port"] = _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = BridgeUser,
            ["Mqtt:Password"] = _broker.PasswordOf(BridgeUser),
            ["Mqtt:ClientId"] = "cloud-bridge-burst",
        };
        return CloudBridgeHost.StartAsync(settings: settings, dataDirectory: _storage.DataDirectory, configure: services => services.AddSingleton<IAlarmStoreHook>(_events));
    }

    /// <summary>Alarms of <paramref name="count"/> devices, each bound at the gateway's site first (as an installer does), in one district.</summary>
    private async Task<List<AlarmEnvelope>> BoundAlarmsAsync(uint firstDevice, int count)
    {
        List<AlarmEnvelope> alarms = [.. Enumerable.Range(0, count).Select(i => TestAlarms.Alarm(firstDevice + (uint)i, 1, TestAlarms.SeoulCityHall, GatewayUser))];
        foreach (AlarmEnvelope alarm in alarms)
        {
            await PublishAsync(TestAlarms.BindingOf(alarm));
        }

        await Eventually.HoldsAsync(() => _commands.OfType<DeviceBoundReceiptEnvelope>().Count() >= count, "every device bound", Wait);
        return alarms;
    }

    private Task PublishAsync(Envelope envelope) =>
        _gateway.PublishAsync(TestAlarms.EventsTopic(GatewayUser), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private int Receipts(string key) => _commands.OfType<AlarmReceiptEnvelope>().Count(r => r.Key == key);

    private static List<string> ReadFeed(AlarmSubscription console, int count)
    {
        var keys = new List<string>();
        while (keys.Count < count && console.Reader.TryRead(out AlarmFeedEvent? feedEvent))
        {
            keys.Add(feedEvent.Alarm.Key);
        }

        return keys;
    }

    /// <summary>A rule in the database itself that rejects storing <paramref name="key"/>, as a full disk or a broken constraint would.</summary>
    private Task RefuseAsync(CloudBridgeHost bridge, string key) =>
        bridge.Store.Database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection, Provider == StorageProvider.Sqlite
            ? $"CREATE TRIGGER refuse_alarm BEFORE INSERT ON alarms WHEN NEW.key = '{key}' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;"
            : $"""
              CREATE FUNCTION refuse_alarm() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF NEW.key = '{key}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
              CREATE TRIGGER refuse_alarm BEFORE INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION refuse_alarm();
              """, ct), CancellationToken.None);

    /// <summary>A deferred check in the database itself that makes the commit of a transaction storing <paramref name="key"/> fail.</summary>
    private Task RefuseCommitAsync(CloudBridgeHost bridge, string key) =>
        bridge.Store.Database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection, Provider == StorageProvider.Sqlite
            ? $"""
              CREATE TABLE refused_parent (key TEXT PRIMARY KEY);
              CREATE TABLE refused_at_commit (key TEXT REFERENCES refused_parent (key) DEFERRABLE INITIALLY DEFERRED);
              CREATE TRIGGER refuse_commit AFTER INSERT ON alarms WHEN NEW.key = '{key}' BEGIN INSERT INTO refused_at_commit VALUES (NEW.key); END;
              """
            : $"""
              CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'refused at commit for the test'; END $$;
              CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON alarms DEFERRABLE INITIALLY DEFERRED
              FOR EACH ROW WHEN (NEW.key = '{key}') EXECUTE FUNCTION refuse_commit();
              """, ct), CancellationToken.None);

    private Task AllowCommitAsync(CloudBridgeHost bridge) =>
        bridge.Store.Database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection, Provider == StorageProvider.Sqlite
            ? "DROP TRIGGER refuse_commit; DROP TABLE refused_at_commit; DROP TABLE refused_parent;"
            : "DROP TRIGGER refuse_commit ON alarms; DROP FUNCTION refuse_commit();", ct), CancellationToken.None);

    private Task AllowAsync(CloudBridgeHost bridge) =>
        bridge.Store.Database.WriteAsync((connection, ct) => StoreDatabase.ExecuteAsync(connection, Provider == StorageProvider.Sqlite
            ? "DROP TRIGGER refuse_alarm;"
            : "DROP TRIGGER refuse_alarm ON alarms; DROP FUNCTION refuse_alarm();", ct), CancellationToken.None);

    /// <summary>
    /// Watches the alarm store from inside, as a hook of the store's own transaction: the order of inserts and commits, the
    /// connection each insert ran on, and a place to hold one alarm's transaction open or to act the moment one commits.
    /// </summary>
    private sealed class StoreEvents : IAlarmStoreHook
    {
        private readonly List<string> _log = [];
        private readonly ConcurrentDictionary<string, DbConnection> _connections = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _holdAt;
        private (string Key, Action Act)? _onCommitted;

        public IReadOnlyList<string> Log
        {
            get
            {
                lock (_log)
                {
                    return [.. _log];
                }
            }
        }

        public void HoldAt(string key) => _holdAt = key;

        public Task HeldAsync(TimeSpan timeout) => _held.Task.WaitAsync(timeout);

        public void Release() => _released.TrySetResult();

        public void OnCommitted(string key, Action act) => _onCommitted = (key, act);

        public DbConnection ConnectionOf(string key) => _connections[key];

        public async Task OnNewAlarmAsync(DbConnection connection, string key, CancellationToken cancellationToken)
        {
            Record("insert " + key);
            _connections[key] = connection;
            if (key == _holdAt)
            {
                _held.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }
        }

        public void AlarmCommitted(string key)
        {
            Record("committed " + key);
            if (_onCommitted is { } after && after.Key == key)
            {
                after.Act();
            }
        }

        private void Record(string entry)
        {
            lock (_log)
            {
                _log.Add(entry);
            }
        }
    }
}

[Trait("Category", "Integration")]
public sealed class AlarmBurstOnSqliteTests : AlarmBurstTests
{
    protected override StorageProvider Provider => StorageProvider.Sqlite;
}

[Trait("Category", "Integration")]
[Trait("Category", "HighAvailability")]
public sealed class AlarmBurstOnPostgreSqlTests : AlarmBurstTests
{
    protected override StorageProvider Provider => StorageProvider.PostgreSql;
}
