using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Retention;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Retention;

/// <summary>Closed alarms, snapshots and location traces go when their period ends; open alarms and the audit log stay.</summary>
public sealed class RetentionPurgeTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Directory.CreateTempSubdirectory("retention-").FullName;
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly RetentionOptions _options = new()
    {
        ClosedAlarms = TimeSpan.FromDays(30),
        Snapshots = TimeSpan.FromDays(7),
        LocationTraces = TimeSpan.FromDays(1),
        AuditLog = TimeSpan.FromDays(365),
    };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Each_kind_of_data_is_purged_after_its_own_period_and_the_purge_is_audited_by_count()
    {
        var store = new AlarmStore(_directory);
        var audit = new AuditLog(_directory, _clock);
        AlarmEnvelope resolvedEarly = TestAlarms.Alarm(0x01, 1);
        AlarmEnvelope resolvedLate = TestAlarms.Alarm(0x02, 1);
        AlarmEnvelope stillOpen = TestAlarms.Alarm(0x03, 1);
        foreach (AlarmEnvelope alarm in new[] { resolvedEarly, resolvedLate, stillOpen })
        {
            await store.StoreAlarmAsync(alarm, alarm.Key, new SiteArea("11680", null), Start, CancellationToken.None);
        }

        await store.ApplyOperatorActionAsync(resolvedEarly.Key, AlarmState.Resolved, "kim", Start, CancellationToken.None);
        await store.ApplyOperatorActionAsync(resolvedLate.Key, AlarmState.Resolved, "kim", Start.AddDays(20), CancellationToken.None);
        TestSnapshots.Write(_directory, resolvedEarly.Key, resolvedEarly.DeviceId, TestSnapshots.Png, Start);
        TestSnapshots.Write(_directory, stillOpen.Key, stillOpen.DeviceId, TestSnapshots.Png, Start.AddDays(30));
        // The escort store's own traces: two fixes of a walk on the first day, one a month later.
        var escorts = new EscortStore(_directory);
        await escorts.RecordLocationsAsync(7, [new LocationFix(37.5, 127.0, Start), new LocationFix(37.5001, 127.0, Start.AddSeconds(2))], Start.AddSeconds(2), CancellationToken.None);
        await escorts.RecordLocationsAsync(8, [new LocationFix(37.6, 127.1, Start.AddDays(31))], Start.AddDays(31), CancellationToken.None);
        RetentionPurge purge = Create(store, audit);

        _clock.Advance(TimeSpan.FromDays(31));
        RetentionResult first = await purge.PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(new RetentionResult(1, 1, 2, 0), first);
        Assert.Null(await store.FindAsync(resolvedEarly.Key, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(resolvedLate.Key, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(stillOpen.Key, CancellationToken.None));
        Assert.Equal(0, await escorts.CountTraceAsync(7, CancellationToken.None));
        Assert.Equal(1, await escorts.CountTraceAsync(8, CancellationToken.None));
        IReadOnlyList<AuditRecord> entries = await audit.ListAsync(10, null, CancellationToken.None);
        Assert.Equal(
            [("traces", "removed=2"), ("snapshots", "removed=1"), ("alarms", "removed=1")],
            entries.Select(e => (e.Entry.Target, e.Entry.Detail)));
        Assert.All(entries, e => Assert.Equal((RetentionPurge.Actor, AuditAction.RetentionPurge), (e.Entry.Actor, e.Entry.Action)));

        // Twenty more days: the later resolution expires; the open alarm never does.
        _clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(new RetentionResult(1, 1, 1, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Equal([stillOpen.Key], (await store.ListAsync(10, CancellationToken.None)).Select(a => a.Key));
        Assert.True((await audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task A_snapshot_received_with_a_local_offset_expires_by_its_instant_not_its_text()
    {
        var seoul = TimeSpan.FromHours(9);
        AlarmEnvelope early = TestAlarms.Alarm(0x21, 1), late = TestAlarms.Alarm(0x22, 1);

        // An hour past its period, written as Seoul time: as text it sorts after the UTC cutoff.
        TestSnapshots.Write(_directory, early.Key, early.DeviceId, TestSnapshots.Png, Start.ToOffset(seoul));
        TestSnapshots.Write(_directory, late.Key, late.DeviceId, TestSnapshots.Png, Start.AddHours(2));
        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromHours(1));

        RetentionResult result = await Create(new AlarmStore(_directory), new AuditLog(_directory, _clock)).PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(1, result.Snapshots);
        var snapshots = new CloudSnapshotStore(_directory);
        Assert.Null(await snapshots.FindAsync(early.Key, CancellationToken.None));
        Assert.Equal(Start.AddHours(2), (await snapshots.FindAsync(late.Key, CancellationToken.None))!.ReceivedAt);
    }

    [Fact]
    public async Task Missing_snapshot_and_trace_tables_are_nothing_to_purge()
    {
        RetentionPurge purge = Create(new AlarmStore(_directory), new AuditLog(_directory, _clock));

        Assert.Equal(new RetentionResult(0, 0, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_running_bridge_purges_on_its_own_interval_each_alarm_by_its_own_age()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>
        {
            ["Retention:Interval"] = "01:00:00",
            ["Retention:ClosedAlarms"] = "1.00:00:00",
        }, configure: services => services.AddSingleton<TimeProvider>(clock));
        AlarmEnvelope older = TestAlarms.Alarm(0x10, 1), younger = TestAlarms.Alarm(0x11, 1);
        await host.InjectAsync(TestAlarms.EventsTopic(), older);
        await host.InjectAsync(TestAlarms.EventsTopic(), younger);
        (await host.Http.PostAsync(new Uri($"/api/alarms/{older.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        clock.Advance(TimeSpan.FromHours(12));
        await host.Store.ApplyOperatorActionAsync(younger.Key, AlarmState.Resolved, "kim", clock.GetUtcNow(), CancellationToken.None);

        // Nobody calls the purge: only the bridge's own hourly passes can remove anything.
        clock.Advance(TimeSpan.FromHours(13));

        await Eventually.HoldsAsync(async () => await host.Store.FindAsync(older.Key, CancellationToken.None) is null, "alarm resolved 25 h ago purged");
        Assert.NotNull(await host.Store.FindAsync(younger.Key, CancellationToken.None));
    }

    private RetentionPurge Create(AlarmStore store, AuditLog audit) => new(
        store, audit, Options.Create(_options), Options.Create(new CloudBridgeOptions { DataDirectory = _directory }), _clock, NullLogger<RetentionPurge>.Instance);
}
