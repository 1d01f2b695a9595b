using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Anshimi.CloudBridge.Tests;

/// <summary>The alarm store's contract, run on each engine (<see cref="SqliteAlarmStoreTests"/>, <see cref="PostgreSqlAlarmStoreTests"/>).</summary>
public abstract class AlarmStoreTests : IAsyncLifetime
{
    protected static readonly SiteArea Gangnam = new("11680", "1168064000");

    private AlarmStore _store = null!;

    protected abstract StorageProvider Provider { get; }

    protected TestStorage Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Storage = await TestStorage.CreateAsync(Provider);
        _store = new AlarmStore(Storage.Open(StoreFile.Alarms));
    }

    public async Task DisposeAsync() => await Storage.DisposeAsync();

    [Fact]
    public async Task The_same_key_twice_is_stored_once()
    {
        var alarm = TestAlarms.Alarm(0xA1B2, 5);

        bool first = await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        bool second = await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(first);
        Assert.False(second);
        Assert.Equal(1, await _store.CountAsync(CancellationToken.None));
        AlarmRecord stored = (await _store.FindAsync("0000A1B2:5", CancellationToken.None))!;
        Assert.Equal([TimelineStage.Raised, TimelineStage.Received], stored.Timeline.Select(t => t.Stage));
        Assert.Equal(AlarmState.Open, stored.State);
    }

    [Fact]
    public async Task Alarms_survive_reopening_the_store_and_list_newest_first()
    {
        foreach (uint counter in new uint[] { 1, 2, 3 })
        {
            var alarm = TestAlarms.Alarm(0x10, counter);
            await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        }

        var reopened = new AlarmStore(Storage.Open(StoreFile.Alarms));
        IReadOnlyList<AlarmRecord> alarms = await reopened.ListAsync(10, CancellationToken.None);

        Assert.Equal(["00000010:3", "00000010:2", "00000010:1"], alarms.Select(a => a.Key));
        Assert.All(alarms, a => Assert.Equal(2, a.Timeline.Count));
    }

    [Fact]
    public async Task Operator_actions_follow_open_acknowledged_resolved()
    {
        var alarm = TestAlarms.Alarm(0x20, 1);
        await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        Assert.Equal(OperatorActionOutcome.NotFound, (await _store.ApplyOperatorActionAsync("00000099:1", AlarmState.Acknowledged, "kim", now, CancellationToken.None)).Outcome);
        Assert.Equal(OperatorActionOutcome.Applied, (await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None)).Outcome);
        Assert.Equal(OperatorActionOutcome.Unchanged, (await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None)).Outcome);
        OperatorActionResult resolved = await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Resolved, "lee", now, CancellationToken.None);
        Assert.Equal(OperatorActionOutcome.Applied, resolved.Outcome);
        Assert.Equal(OperatorActionOutcome.AlreadyResolved, (await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None)).Outcome);

        Assert.Equal(AlarmState.Resolved, resolved.Alarm!.State);
        Assert.Equal(
            [(TimelineStage.Acknowledged, "kim"), (TimelineStage.Resolved, "lee")],
            resolved.Alarm.Timeline.Skip(2).Select(t => (t.Stage, t.Actor!)));
    }

    [Fact]
    public async Task A_walk_test_alarm_is_stored_closed_and_never_takes_an_operator_action()
    {
        AlarmEnvelope test = TestAlarms.Alarm(0x40, 1) with { Test = true };
        await _store.StoreAlarmAsync(test, test.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);

        AlarmRecord stored = (await _store.FindAsync(test.Key, CancellationToken.None))!;
        Assert.True(stored.Test);
        Assert.Equal(AlarmState.Test, stored.State);
        OperatorActionResult ack = await _store.ApplyOperatorActionAsync(test.Key, AlarmState.Acknowledged, "kim", DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Equal(OperatorActionOutcome.AlreadyResolved, ack.Outcome);
        Assert.Empty(await PeekDueAsync(DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task Outbox_rows_are_due_until_relayed_and_a_relayed_resolve_settles_the_ack()
    {
        var alarm = TestAlarms.Alarm(0x30, 1);
        await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);
        await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Resolved, "kim", now, CancellationToken.None);

        IReadOnlyList<PendingAck> due = await PeekDueAsync(now);
        Assert.Equal([AlarmState.Acknowledged, AlarmState.Resolved], due.Select(d => d.Stage));
        Assert.All(due, d => Assert.Equal(TestAlarms.Gateway, d.GatewayId));

        await _store.RecordAckAttemptAsync(alarm.Key, AlarmState.Acknowledged, 1, now.AddSeconds(2), CancellationToken.None);
        Assert.Single(await PeekDueAsync(now));
        Assert.Equal(2, (await PeekDueAsync(now.AddSeconds(2))).Count);

        Assert.True(await _store.MarkAckRelayedAsync(alarm.Key, AlarmState.Resolved, now, CancellationToken.None));
        Assert.False(await _store.MarkAckRelayedAsync(alarm.Key, AlarmState.Resolved, now, CancellationToken.None));
        Assert.Empty(await PeekDueAsync(DateTimeOffset.MaxValue));
        Assert.Null(await _store.NextAckDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Alarms_keep_their_neighbourhood_and_are_listed_by_it()
    {
        var hwayang = TestAlarms.Alarm(0x41, 1);
        var nowhere = TestAlarms.Alarm(0x42, 1);
        await _store.StoreAlarmAsync(hwayang, hwayang.Key, new SiteArea("11215", "1121571000"), DateTimeOffset.UtcNow, CancellationToken.None);
        await _store.StoreAlarmAsync(nowhere, nowhere.Key, new SiteArea(DistrictDirectory.UnknownCode, null), DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Equal("1121571000", (await _store.FindAsync(hwayang.Key, CancellationToken.None))!.NeighbourhoodCode);
        Assert.Null((await _store.FindAsync(nowhere.Key, CancellationToken.None))!.NeighbourhoodCode);
        IReadOnlyList<AlarmRecord> listed = await _store.ListAsync(10, new AlarmFilter(null, false) { Neighbourhood = "1121571000" }, CancellationToken.None);
        Assert.Equal([hwayang.Key], listed.Select(a => a.Key));
    }

    [Fact]
    public async Task A_claimed_ack_goes_to_another_instance_only_once_its_attempt_is_recorded_or_the_claim_runs_out_and_back_to_its_own_at_once()
    {
        var alarm = TestAlarms.Alarm(0x31, 1);
        await _store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await _store.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);

        Assert.Single(await _store.ClaimDueAcksAsync("a", now, now, TimeSpan.FromSeconds(30), 10, CancellationToken.None));
        Assert.Empty(await _store.ClaimDueAcksAsync("b", DateTimeOffset.MaxValue, now.AddSeconds(29), TimeSpan.FromSeconds(30), 10, CancellationToken.None));
        Assert.Single(await _store.ClaimDueAcksAsync("a", now, now.AddSeconds(29), TimeSpan.FromSeconds(30), 10, CancellationToken.None));
        Assert.Empty(await _store.ClaimDueAcksAsync("b", now, now.AddSeconds(58), TimeSpan.FromSeconds(30), 10, CancellationToken.None));
        Assert.Single(await _store.ClaimDueAcksAsync("b", now, now.AddSeconds(59), TimeSpan.FromSeconds(30), 10, CancellationToken.None));

        await _store.RecordAckAttemptAsync(alarm.Key, AlarmState.Acknowledged, 1, now, CancellationToken.None);
        PendingAck again = Assert.Single(await _store.ClaimDueAcksAsync("a", now, now.AddSeconds(60), TimeSpan.FromSeconds(30), 10, CancellationToken.None));
        Assert.Equal(1, again.Attempts);
    }

    // A claim that ended in 1970: what is due and unclaimed, without keeping it from the next look.
    private Task<IReadOnlyList<PendingAck>> PeekDueAsync(DateTimeOffset dueBy) =>
        _store.ClaimDueAcksAsync("peek", dueBy, DateTimeOffset.UnixEpoch, TimeSpan.Zero, 10, CancellationToken.None);
}

public sealed class SqliteAlarmStoreTests : AlarmStoreTests
{
    protected override StorageProvider Provider => StorageProvider.Sqlite;

    [Fact]
    public async Task A_store_written_before_neighbourhoods_opens_with_the_column_added_and_its_alarms_kept()
    {
        string directory = Directory.CreateTempSubdirectory("alarm-store-old-").FullName;
        try
        {
            await using (var old = new SqliteConnection("Data Source=" + Path.Combine(directory, "alarms.db")))
            {
                await old.OpenAsync();
                await using SqliteCommand create = old.CreateCommand();
                create.CommandText = """
                    CREATE TABLE alarms (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL,
                      counter INTEGER NOT NULL, gateway_id TEXT NOT NULL, event_code INTEGER NOT NULL, qualifier INTEGER NOT NULL,
                      zone INTEGER NOT NULL, profile TEXT NOT NULL, site_kind TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                      address TEXT NOT NULL, test INTEGER NOT NULL, district_code TEXT NOT NULL, frame TEXT NOT NULL, state TEXT NOT NULL,
                      raised_at TEXT NOT NULL, received_at TEXT NOT NULL);
                    INSERT INTO alarms (key, device_id, counter, gateway_id, event_code, qualifier, zone, profile, site_kind, lat, lon,
                      address, test, district_code, frame, state, raised_at, received_at)
                    VALUES ('00000001:1', '00000001', 1, 'gw', 120, 1, 1, 'home-panic', 'home', 37.5, 127.0, 'a', 0, '11680', '', 'open',
                      '2026-01-01T00:00:00.0000000+00:00', '2026-01-01T00:00:00.0000000+00:00');
                    """;
                await create.ExecuteNonQueryAsync();
            }

            SqliteConnection.ClearAllPools();
            var store = new AlarmStore(directory);
            AlarmRecord? old1 = await store.FindAsync("00000001:1", CancellationToken.None);
            Assert.NotNull(old1);
            Assert.Null(old1.NeighbourhoodCode);
            var alarm = TestAlarms.Alarm(0x43, 1);
            await store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
            Assert.Equal("1168064000", (await store.FindAsync(alarm.Key, CancellationToken.None))!.NeighbourhoodCode);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Store_uses_write_ahead_logging()
    {
        await using var connection = new SqliteConnection("Data Source=" + Path.Combine(Storage.DataDirectory, StoreFile.Alarms.SqliteFileName));
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";

        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }
}

[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class PostgreSqlAlarmStoreTests : AlarmStoreTests
{
    protected override StorageProvider Provider => StorageProvider.PostgreSql;

    [Fact]
    public async Task An_alarm_whose_commit_answer_was_lost_is_still_new_to_the_call_that_stored_it()
    {
        // The bridge reaches PostgreSQL through a relay that lets the COMMIT through and drops the connection on its answer.
        var direct = new NpgsqlConnectionStringBuilder(Storage.Options.ConnectionString);
        await using TcpProxy relay = TcpProxy.Start(direct.Port);
        var throughRelay = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = relay.Host, Port = relay.Port };
        using StoreDatabase database = StoreDatabase.Open(
            new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = throughRelay.ConnectionString }, Storage.DataDirectory, StoreFile.Alarms);
        var store = new AlarmStore(database);
        var alarm = TestAlarms.Alarm(0xC0FFEE, 9);

        Task cut = relay.CutAfterAnswerTo("COMMIT"u8.ToArray());
        bool isNew = await store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(cut.IsCompletedSuccessfully, "the commit's answer was cut off");
        Assert.True(isNew, "the retried write reports the alarm it committed as new, so the console is told of it");
        Assert.Equal(1, await store.CountAsync(CancellationToken.None));
        Assert.False(await store.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None));
    }
}
