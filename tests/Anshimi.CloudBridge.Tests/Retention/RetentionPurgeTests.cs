using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Retention;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Retention;

[Trait("Category", "Privacy")]
public sealed class RetentionPurgeOnSqliteTests() : RetentionPurgeTests(StorageProvider.Sqlite);

[Trait("Category", "Privacy")]
[Trait("Category", "HighAvailability")]
public sealed class RetentionPurgeOnPostgreSqlTests() : RetentionPurgeTests(StorageProvider.PostgreSql);

/// <summary>
/// Every table with personal data goes when its own period ends, filled through the stores' own APIs and purged by
/// the real purge on their real schema, on each storage engine; the audit log keeps the counts.
/// </summary>
public abstract class RetentionPurgeTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private TestStorage _storage = null!;
    private StoreDatabase _alarmFile = null!;
    private CloudSnapshotStore _snapshots = null!;
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly RetentionOptions _options = new()
    {
        ClosedAlarms = TimeSpan.FromDays(30),
        Snapshots = TimeSpan.FromDays(7),
        LocationTraces = TimeSpan.FromDays(1),
        UnresolvedAlarms = TimeSpan.FromDays(60),
        TestAlarms = TimeSpan.FromDays(10),
        EscortSessions = TimeSpan.FromDays(2),
        Emergencies = TimeSpan.FromDays(20),
        AuditLog = TimeSpan.FromDays(365),
    };

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(provider);
        _alarmFile = _storage.Open(StoreFile.Alarms);
        _snapshots = new CloudSnapshotStore(_storage.Open(StoreFile.Snapshots));
    }

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task Each_kind_of_data_is_purged_after_its_own_period_and_the_purge_is_audited_by_count()
    {
        var store = new AlarmStore(_alarmFile);
        var audit = new AuditLog(_alarmFile, _clock);
        AlarmEnvelope resolvedEarly = TestAlarms.Alarm(0x01, 1);
        AlarmEnvelope resolvedLate = TestAlarms.Alarm(0x02, 1);
        AlarmEnvelope stillOpen = TestAlarms.Alarm(0x03, 1);
        foreach (AlarmEnvelope alarm in new[] { resolvedEarly, resolvedLate, stillOpen })
        {
            await store.StoreAlarmAsync(alarm, alarm.Key, new SiteArea("11680", null), Start, CancellationToken.None);
        }

        await store.ApplyOperatorActionAsync(resolvedEarly.Key, AlarmState.Resolved, "kim", Start, CancellationToken.None);
        await store.ApplyOperatorActionAsync(resolvedLate.Key, AlarmState.Resolved, "kim", Start.AddDays(20), CancellationToken.None);
        TestSnapshots.Write(_snapshots, resolvedEarly.Key, resolvedEarly.DeviceId, TestSnapshots.Png, Start);
        TestSnapshots.Write(_snapshots, stillOpen.Key, stillOpen.DeviceId, TestSnapshots.Png, Start.AddDays(30));
        // The escort store's own traces: two fixes of a walk on the first day, one a month later.
        EscortStore escorts = Escorts();
        await escorts.RecordLocationsAsync(7, [new LocationFix(37.5, 127.0, Start), new LocationFix(37.5001, 127.0, Start.AddSeconds(2))], Start.AddSeconds(2), CancellationToken.None);
        await escorts.RecordLocationsAsync(8, [new LocationFix(37.6, 127.1, Start.AddDays(31))], Start.AddDays(31), CancellationToken.None);
        RetentionPurge purge = Create(store, audit);

        _clock.Advance(TimeSpan.FromDays(31));
        RetentionResult first = await purge.PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(new RetentionResult(1, 0, 0, 1, 2, 0, 0, 0), first);
        Assert.Null(await store.FindAsync(resolvedEarly.Key, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(resolvedLate.Key, CancellationToken.None));
        Assert.NotNull(await store.FindAsync(stillOpen.Key, CancellationToken.None));
        Assert.Equal(0, await escorts.CountTraceAsync(7, CancellationToken.None));
        Assert.Equal(1, await escorts.CountTraceAsync(8, CancellationToken.None));
        IReadOnlyList<AuditRecord> entries = await audit.ListAsync(10, null, CancellationToken.None);
        Assert.Equal(
            [("location_traces", "removed=2"), ("snapshots", "removed=1"), ("alarms-resolved", "removed=1")],
            entries.Select(e => (e.Entry.Target, e.Entry.Detail)));
        Assert.All(entries, e => Assert.Equal((RetentionPurge.Actor, AuditAction.RetentionPurge), (e.Entry.Actor, e.Entry.Action)));

        // Twenty more days: the later resolution expires; the open alarm never does.
        _clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(new RetentionResult(1, 0, 0, 1, 1, 0, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Equal([stillOpen.Key], (await store.ListAsync(10, CancellationToken.None)).Select(a => a.Key));
        Assert.True((await audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task A_snapshot_received_with_a_local_offset_expires_by_its_instant_not_its_text()
    {
        var seoul = TimeSpan.FromHours(9);
        AlarmEnvelope early = TestAlarms.Alarm(0x21, 1), late = TestAlarms.Alarm(0x22, 1);

        // An hour past its period, written as Seoul time: as text it sorts after the UTC cutoff.
        TestSnapshots.Write(_snapshots, early.Key, early.DeviceId, TestSnapshots.Png, Start.ToOffset(seoul));
        TestSnapshots.Write(_snapshots, late.Key, late.DeviceId, TestSnapshots.Png, Start.AddHours(2));
        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromHours(1));

        RetentionResult result = await Create(new AlarmStore(_alarmFile), new AuditLog(_alarmFile, _clock)).PurgeOnceAsync(CancellationToken.None);

        Assert.Equal(1, result.Snapshots);
        Assert.Null(await _snapshots.FindAsync(early.Key, CancellationToken.None));
        Assert.Equal(Start.AddHours(2), (await _snapshots.FindAsync(late.Key, CancellationToken.None))!.ReceivedAt);
    }

    [Fact]
    public async Task Empty_stores_are_nothing_to_purge()
    {
        RetentionPurge purge = Create(new AlarmStore(_alarmFile), new AuditLog(_alarmFile, _clock));

        Assert.Equal(new RetentionResult(0, 0, 0, 0, 0, 0, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_running_bridge_purges_on_its_own_interval_each_alarm_by_its_own_age()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>(_storage.Settings)
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

    [Fact]
    public async Task Test_alarms_never_resolved_alarms_ended_escorts_and_released_emergencies_each_expire_by_their_own_period()
    {
        var store = new AlarmStore(_alarmFile);
        EscortStore escorts = Escorts();
        var audit = new AuditLog(_alarmFile, _clock);
        AlarmEnvelope walkTest = TestAlarms.Alarm(0x31, 1, test: true), forgotten = TestAlarms.Alarm(0x32, 1), acknowledged = TestAlarms.Alarm(0x33, 1);
        await store.StoreAlarmAsync(walkTest, walkTest.Key, new SiteArea("11680", null), Start, CancellationToken.None);
        await store.StoreAlarmAsync(forgotten, forgotten.Key, new SiteArea("11680", null), Start, CancellationToken.None);
        await store.StoreAlarmAsync(acknowledged, acknowledged.Key, new SiteArea("11680", null), Start.AddDays(30), CancellationToken.None);
        await store.ApplyOperatorActionAsync(acknowledged.Key, AlarmState.Acknowledged, "kim", Start.AddDays(30), CancellationToken.None);

        // A walk from home that ended on day 0, one still going, and two emergency reports: one released on day 1, one still held.
        var home = new GeoPoint(37.5172, 127.0473);
        var school = new GeoPoint(37.52, 127.05);
        Assert.True(await escorts.TryStartAsync(new EscortSessionRecord(0x51, "app", EscortState.Active, home, school, null, Start, Start, home, null), CancellationToken.None));
        Assert.True(await escorts.TryStartAsync(new EscortSessionRecord(0x52, "app", EscortState.Active, home, school, null, Start, Start, home, null), CancellationToken.None));
        await escorts.RecordLocationsAsync(0x51, [new LocationFix(37.518, 127.048, Start.AddDays(8.5))], Start.AddDays(8.5), CancellationToken.None);
        Assert.True(await escorts.EndAsync(0x51, EscortState.Arrived, Start.AddMinutes(20), CancellationToken.None));
        (EmergencyRecord released, _) = await escorts.AddEmergencyAsync("app", "e-1", "h1", home, "11680", Start, seq => $"5E000000:{seq}", CancellationToken.None);
        (EmergencyRecord held, _) = await escorts.AddEmergencyAsync("app", "e-2", "h2", home, "11680", Start, seq => $"5E000000:{seq}", CancellationToken.None);
        await escorts.MarkEmergencyReleasedAsync(released.Sequence, Start.AddDays(1), CancellationToken.None);
        RetentionPurge purge = Create(store, audit, escorts);

        _clock.Advance(TimeSpan.FromDays(9));
        Assert.Equal(new RetentionResult(0, 0, 0, 0, 0, 1, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Null(await escorts.FindAsync(0x51, CancellationToken.None));
        Assert.Equal(0, await escorts.CountTraceAsync(0x51, CancellationToken.None)); // the ended walk takes its trace with it
        Assert.NotNull(await escorts.FindAsync(0x52, CancellationToken.None));

        _clock.Advance(TimeSpan.FromDays(2)); // day 11: the walk test is past its 10 days
        Assert.Equal(new RetentionResult(0, 0, 1, 0, 0, 0, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Null(await store.FindAsync(walkTest.Key, CancellationToken.None));

        _clock.Advance(TimeSpan.FromDays(11)); // day 22: the released emergency is past its 20 days; the held one stays
        Assert.Equal(new RetentionResult(0, 0, 0, 0, 0, 0, 1, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Null(await escorts.FindEmergencyAsync(released.Sequence, CancellationToken.None));
        Assert.NotNull(await escorts.FindEmergencyAsync(held.Sequence, CancellationToken.None));

        _clock.Advance(TimeSpan.FromDays(39)); // day 61: the alarm nobody resolved goes; the one acknowledged on day 30 stays
        Assert.Equal(new RetentionResult(0, 1, 0, 0, 0, 0, 0, 0), await purge.PurgeOnceAsync(CancellationToken.None));
        Assert.Equal([acknowledged.Key], (await store.ListAsync(10, AlarmFilter.Everything, CancellationToken.None)).Select(a => a.Key));

        Assert.Equal(
            [("alarms-unresolved", "removed=1"), ("emergencies", "removed=1"), ("alarms-test", "removed=1"), ("escort_sessions", "removed=1")],
            (await audit.ListByActorAsync(RetentionPurge.Actor, AuditAction.RetentionPurge, 10, CancellationToken.None)).Select(e => (e.Entry.Target, e.Entry.Detail)));
        Assert.True((await audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task Central_staff_read_the_retention_report_over_http_and_district_operators_cannot()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>(_storage.Settings)
        {
            ["Retention:ClosedAlarms"] = "00:00:01",
            ["Retention:Interval"] = "01:00:00",
        });
        AlarmEnvelope alarm = TestAlarms.Alarm(0x41, 1);
        await host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        (await host.Http.PostAsync(new Uri($"/api/alarms/{alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await host.Services.GetRequiredService<RetentionPurge>().PurgeOnceAsync(CancellationToken.None);

        JsonElement report = await host.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/retention", UriKind.Relative));
        Assert.Contains(report.GetProperty("periods").EnumerateArray(), p => p.GetProperty("table").GetString() == "emergencies");
        Assert.Equal(8, report.GetProperty("periods").GetArrayLength());
        Assert.NotEqual(JsonValueKind.Null, report.GetProperty("lastPassAt").ValueKind);
        JsonElement purged = Assert.Single(report.GetProperty("purges").EnumerateArray());
        Assert.Equal(("alarms-resolved", 1), (purged.GetProperty("table").GetString(), purged.GetProperty("removed").GetInt32()));
        Assert.DoesNotContain(alarm.Key, report.GetRawText(), StringComparison.Ordinal); // counts only

        using HttpClient gangnam = await host.SignedInAsync(TestOperators.Gangnam);
        Assert.Equal(HttpStatusCode.Forbidden, (await gangnam.GetAsync(new Uri("/api/retention", UriKind.Relative))).StatusCode);
    }

    private EscortStore Escorts() => new(_storage.Open(StoreFile.Escorts));

    private RetentionPurge Create(AlarmStore store, AuditLog audit, EscortStore? escorts = null) => new(
        store, _snapshots, escorts ?? Escorts(), audit, Options.Create(_options), _clock, NullLogger<RetentionPurge>.Instance);
}
