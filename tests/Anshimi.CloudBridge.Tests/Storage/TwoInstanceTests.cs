using System.Collections.Concurrent;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Two bridge instances on one database: two sets of stores, each with its own connection pool, racing on the same key,
/// the same outbox rows and the same audit chain.
/// </summary>
public abstract class TwoInstanceTests : IAsyncLifetime
{
    private static readonly SiteArea Gangnam = new("11680", "1168064000");

    private TestStorage _storage = null!;
    private Instance _a = null!;
    private Instance _b = null!;

    protected abstract StorageProvider Provider { get; }

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(Provider);
        _a = new Instance(_storage.Open(StoreFile.Alarms), "a");
        _b = new Instance(_storage.Open(StoreFile.Alarms), "b");
    }

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task The_same_alarm_stored_by_both_at_once_is_one_row_and_new_to_exactly_one()
    {
        for (uint counter = 1; counter <= 10; counter++)
        {
            AlarmEnvelope alarm = TestAlarms.Alarm(0xB1, counter);
            using var start = new Barrier(2);
            Task<bool>[] stores = new[] { _a, _b }.Select(instance => Task.Run(() =>
            {
                start.SignalAndWait();
                return instance.Alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
            })).ToArray();

            bool[] isNew = await Task.WhenAll(stores);

            Assert.Single(isNew, n => n);
            AlarmRecord stored = (await _b.Alarms.FindAsync(alarm.Key, CancellationToken.None))!;
            Assert.Equal([TimelineStage.Raised, TimelineStage.Received], stored.Timeline.Select(t => t.Stage));
            Assert.Equal(1, (await _a.Deliveries.CountsAsync(CancellationToken.None))["receiver"].Pending - (counter - 1));
        }

        Assert.Equal(10, await _a.Alarms.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Each_pending_ack_is_claimed_by_exactly_one_instance()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (uint counter = 1; counter <= 30; counter++)
        {
            AlarmEnvelope alarm = TestAlarms.Alarm(0xB2, counter);
            await _a.Alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, now, CancellationToken.None);
            await _a.Alarms.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);
        }

        var claimed = new ConcurrentBag<(string Instance, string Key)>();
        async Task SendAllAsync(string name, AlarmStore store)
        {
            while (true)
            {
                IReadOnlyList<PendingAck> due = await store.ClaimDueAcksAsync(name, now, now, TimeSpan.FromMinutes(1), 3, CancellationToken.None);
                if (due.Count == 0)
                {
                    return;
                }

                foreach (PendingAck ack in due)
                {
                    claimed.Add((name, ack.Key));
                }
            }
        }

        await Task.WhenAll(Task.Run(() => SendAllAsync("a", _a.Alarms)), Task.Run(() => SendAllAsync("b", _b.Alarms)));

        Assert.Equal(30, claimed.Count);
        Assert.Equal(30, claimed.Select(c => c.Key).Distinct().Count());
    }

    [Fact]
    public async Task Each_upstream_delivery_is_sent_by_exactly_one_instance()
    {
        for (uint counter = 1; counter <= 30; counter++)
        {
            AlarmEnvelope alarm = TestAlarms.Alarm(0xB3, counter);
            await _a.Alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        }

        var sent = new ConcurrentBag<(string Instance, string Key, int Sequence)>();
        async Task DeliverAllAsync(string name, UpstreamDeliveryStore deliveries)
        {
            while (await deliveries.NextPendingAsync("receiver", CancellationToken.None) is { } next)
            {
                int sequence = await deliveries.WireSequenceAsync(next.AlarmKey, "receiver", CancellationToken.None);
                sent.Add((name, next.AlarmKey, sequence));
                await deliveries.SettleAsync(next.AlarmKey, "receiver", DeliveryState.Delivered, "ACK", DateTimeOffset.UtcNow, CancellationToken.None);
            }
        }

        await Task.WhenAll(Task.Run(() => DeliverAllAsync("a", _a.Deliveries)), Task.Run(() => DeliverAllAsync("b", _b.Deliveries)));

        Assert.Equal(30, sent.Count);
        Assert.Equal(30, sent.Select(s => s.Key).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 30), sent.Select(s => s.Sequence).Order());
        Assert.Equal(new UpstreamCounts(0, 30, 0), (await _b.Deliveries.CountsAsync(CancellationToken.None))["receiver"]);
    }

    [Fact]
    public async Task A_delivery_handed_back_on_stop_is_taken_at_once_and_one_held_by_a_dead_instance_after_its_lease()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var a = new UpstreamDeliveryStore(_a.Alarms, clock, "a");
        var b = new UpstreamDeliveryStore(_b.Alarms, clock, "b");
        AlarmEnvelope first = TestAlarms.Alarm(0xB5, 1);
        AlarmEnvelope second = TestAlarms.Alarm(0xB5, 2);
        await _a.Alarms.StoreAlarmAsync(first, first.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        await _a.Alarms.StoreAlarmAsync(second, second.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Equal(first.Key, (await a.NextPendingAsync("receiver", CancellationToken.None))!.AlarmKey);
        Assert.Equal(second.Key, (await b.NextPendingAsync("receiver", CancellationToken.None))!.AlarmKey);
        Assert.Equal(first.Key, (await a.NextPendingAsync("receiver", CancellationToken.None))!.AlarmKey);

        await a.ReleaseLeasesAsync(CancellationToken.None);
        Assert.Equal(first.Key, (await b.NextPendingAsync("receiver", CancellationToken.None))!.AlarmKey);

        // b dies holding both: a third instance gets them only once b's leases have run out.
        var c = new UpstreamDeliveryStore(_b.Alarms, clock, "c");
        Assert.Null(await c.NextPendingAsync("receiver", CancellationToken.None));
        clock.Advance(UpstreamDeliveryStore.Lease);
        Assert.Equal(first.Key, (await c.NextPendingAsync("receiver", CancellationToken.None))!.AlarmKey);
    }

    [Fact]
    public async Task Audit_appends_from_both_instances_at_once_make_one_unbroken_chain()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xB4, 1);
        await _a.Alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);

        Task Appends(Instance instance, string name) => Task.WhenAll(Enumerable.Range(0, 25).Select(i => Task.Run(() =>
            instance.Audit.AppendAsync(new AuditEntry(name + i, AuditAction.SignIn, name + i, "", AuditOutcome.Done, ""), CancellationToken.None))));

        // An operator action appends inside its own transaction, between the others.
        Task Actions(Instance instance, string name) => Task.WhenAll(new[] { AlarmState.Acknowledged, AlarmState.Dispatched, AlarmState.Resolved }.Select(stage => Task.Run(() =>
            instance.Alarms.ApplyOperatorActionAsync(alarm.Key, stage, name, DateTimeOffset.UtcNow,
                (connection, ct) => instance.Audit.AppendInTransactionAsync(connection, new AuditEntry(name, stage, alarm.Key, "11680", AuditOutcome.Done, ""), ct),
                CancellationToken.None))));

        await Task.WhenAll(Appends(_a, "a"), Appends(_b, "b"), Actions(_a, "a"), Actions(_b, "b"));

        AuditVerification chain = await _b.Audit.VerifyAsync(CancellationToken.None);
        Assert.True(chain.Intact, chain.Problem);
        long applied = (await _a.Alarms.FindAsync(alarm.Key, CancellationToken.None))!.Timeline.Count(t => t.Actor is "a" or "b");
        Assert.Equal(50 + applied, chain.RowsVerified);
    }

    private sealed class Instance
    {
        public Instance(StoreDatabase database, string name)
        {
            Alarms = new AlarmStore(database, [new UpstreamOutboxHook(["receiver"], new UpstreamWake())]);
            Deliveries = new UpstreamDeliveryStore(Alarms, TimeProvider.System, name);
            Audit = new AuditLog(database, TimeProvider.System);
        }

        public AlarmStore Alarms { get; }

        public UpstreamDeliveryStore Deliveries { get; }

        public AuditLog Audit { get; }
    }
}

public sealed class SqliteTwoInstanceTests : TwoInstanceTests
{
    protected override StorageProvider Provider => StorageProvider.Sqlite;
}

[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class PostgreSqlTwoInstanceTests : TwoInstanceTests
{
    protected override StorageProvider Provider => StorageProvider.PostgreSql;
}
