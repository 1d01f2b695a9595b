using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Two instances on one PostgreSQL database, each with its stores, its notices and its listener, as the host wires them:
/// what one stores or an operator changes reaches the other's live feed within a second, once, and what was written
/// while the other's listening connection was down reaches it when that connection is back.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class AlarmChangeListenerTests : IAsyncLifetime
{
    private static readonly SiteArea Gangnam = new("11680", "1168064000");
    private static readonly DistrictDirectory Districts = DistrictDirectory.Load(CloudBridgeHost.DistrictsFile);

    private readonly List<AlarmChangeListener> _listeners = [];
    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);

    public async Task DisposeAsync()
    {
        foreach (AlarmChangeListener listener in _listeners)
        {
            await listener.StopAsync(CancellationToken.None);
            listener.Dispose();
        }

        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task An_alarm_stored_or_acknowledged_on_A_reaches_B_feed_within_a_second_and_B_own_writes_are_not_echoed()
    {
        (AlarmStore storeA, _, _) = await StartInstanceAsync("a");
        (AlarmStore storeB, AlarmFeed feedB, _) = await StartInstanceAsync("b");
        using AlarmSubscription consoleOnB = feedB.Subscribe();

        AlarmEnvelope onA = TestAlarms.Alarm(0xA1, 1);
        Assert.True(await storeA.StoreAlarmAsync(onA, onA.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None));
        AlarmFeedEvent heard = await NextAsync(consoleOnB, TimeSpan.FromSeconds(1));
        Assert.Equal((AlarmFeedEvent.NewAlarm, onA.Key), (heard.Kind, heard.Alarm.Key));

        // B's own write: its handler publishes it locally, so the listener must stay silent.
        AlarmEnvelope onB = TestAlarms.Alarm(0xB1, 1);
        Assert.True(await storeB.StoreAlarmAsync(onB, onB.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None));

        Assert.Equal(OperatorActionOutcome.Applied,
            (await storeA.ApplyOperatorActionAsync(onA.Key, AlarmState.Acknowledged, "kim", DateTimeOffset.UtcNow, CancellationToken.None)).Outcome);
        AlarmFeedEvent updated = await NextAsync(consoleOnB, TimeSpan.FromSeconds(1));
        Assert.Equal((AlarmFeedEvent.Updated, onA.Key, AlarmState.Acknowledged), (updated.Kind, updated.Alarm.Key, updated.Alarm.State));

        await Task.Delay(500);
        Assert.False(consoleOnB.Reader.TryRead(out AlarmFeedEvent? extra), "B heard more: " + extra?.Kind + " " + extra?.Alarm.Key);
    }

    [Fact]
    public async Task An_alarm_stored_while_B_listening_connection_is_cut_reaches_B_feed_once_when_it_reconnects()
    {
        (AlarmStore storeA, _, _) = await StartInstanceAsync("a");
        var slowReconnect = new ReconnectBackoffOptions { InitialDelay = TimeSpan.FromSeconds(3), MaxDelay = TimeSpan.FromSeconds(3) };
        (_, AlarmFeed feedB, AlarmChangeListener listenerB) = await StartInstanceAsync("b", slowReconnect);
        using AlarmSubscription consoleOnB = feedB.Subscribe();

        Assert.Equal(1, await TerminateListenerAsync("b"));
        AlarmEnvelope missed = TestAlarms.Alarm(0xA2, 7);
        Assert.True(await storeA.StoreAlarmAsync(missed, missed.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None));

        // The reconnect waits at least 1.5 s, so the notice went out while no one on B listened: only the reload finds it.
        AlarmFeedEvent heard = await NextAsync(consoleOnB, TimeSpan.FromSeconds(10));
        Assert.Equal((AlarmFeedEvent.NewAlarm, missed.Key), (heard.Kind, heard.Alarm.Key));
        Assert.Equal(2, listenerB.Connections);

        await Task.Delay(500);
        Assert.False(consoleOnB.Reader.TryRead(out _));
    }

    private async Task<(AlarmStore Store, AlarmFeed Feed, AlarmChangeListener Listener)> StartInstanceAsync(
        string instanceId, ReconnectBackoffOptions? reconnect = null)
    {
        var notices = new AlarmChangeNotices(instanceId);
        var store = new AlarmStore(_storage.Open(StoreFile.Alarms), [notices]);
        var feed = new AlarmFeed();
        var listener = new AlarmChangeListener(
            _storage.Options, notices, store, Districts, feed, reconnect ?? new ReconnectBackoffOptions(), NullLogger<AlarmChangeListener>.Instance);
        _listeners.Add(listener);
        await listener.StartAsync(CancellationToken.None);
        await Eventually.HoldsAsync(() => listener.Connections == 1, instanceId + " listening");
        return (store, feed, listener);
    }

    private async Task<int> TerminateListenerAsync(string instanceId)
    {
        await using var connection = new NpgsqlConnection(_storage.Options.ConnectionString);
        await connection.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = @name AND datname = current_database()) t;", connection);
        terminate.Parameters.AddWithValue("name", AlarmChangeListener.ListenerName(instanceId));
        return Convert.ToInt32(await terminate.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<AlarmFeedEvent> NextAsync(AlarmSubscription subscription, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await subscription.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"nothing reached the feed within {within.TotalSeconds} s");
        }
    }
}
