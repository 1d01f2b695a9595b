using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;

namespace Anshimi.CloudBridge.Tests.Escorts;

public sealed class EscortStoreOnSqliteTests() : EscortStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class EscortStoreOnPostgreSqlTests() : EscortStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// Escort sessions, traces and emergency reports on each storage engine: a session's updates may reach either bridge
/// instance, and an emergency sent to both at once is one report with one alarm key.
/// </summary>
public abstract class EscortStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 21, 0, 0, TimeSpan.Zero);
    private static readonly GeoPoint Home = new(37.5405, 127.0700);
    private static readonly GeoPoint Station = new(37.5447, 127.0557);

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_session_starts_once_moves_with_its_fixes_and_ends_once()
    {
        var store = new EscortStore(_storage.Open(StoreFile.Escorts));

        Assert.True(await store.TryStartAsync(Session(0x51), CancellationToken.None));
        Assert.False(await store.TryStartAsync(Session(0x51) with { Client = "other" }, CancellationToken.None));
        await store.RecordLocationsAsync(0x51, [new LocationFix(37.541, 127.069, At.AddSeconds(5)), new LocationFix(37.542, 127.068, At.AddSeconds(10))], At.AddSeconds(11), CancellationToken.None);

        EscortSessionRecord moved = (await store.FindAsync(0x51, CancellationToken.None))!;
        Assert.Equal((new GeoPoint(37.542, 127.068), At.AddSeconds(11), "app"), (moved.LastPosition, moved.LastSeenAt, moved.Client));
        Assert.Equal([Station, Home], moved.Route!);
        Assert.Equal(2, await store.CountTraceAsync(0x51, CancellationToken.None));
        Assert.Equal([0x51u], (await store.ListActiveAsync(CancellationToken.None)).Select(s => s.SessionId));

        Assert.True(await store.EndAsync(0x51, EscortState.Arrived, At.AddMinutes(9), CancellationToken.None));
        Assert.False(await store.EndAsync(0x51, EscortState.Cancelled, At.AddMinutes(10), CancellationToken.None));
        EscortSessionRecord ended = (await store.FindAsync(0x51, CancellationToken.None))!;
        Assert.Equal((EscortState.Arrived, (DateTimeOffset?)At.AddMinutes(9)), (ended.State, ended.EndedAt));
        Assert.Empty(await store.ListActiveAsync(CancellationToken.None));
        Assert.Equal(1, await store.CountSessionsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_sessions_location_updates_may_arrive_at_either_instance()
    {
        var first = new EscortStore(_storage.Open(StoreFile.Escorts));
        var second = new EscortStore(_storage.Open(StoreFile.Escorts));
        Assert.True(await first.TryStartAsync(Session(0x61), CancellationToken.None));

        for (int i = 1; i <= 10; i++)
        {
            EscortStore instance = i % 2 == 0 ? second : first;
            await instance.RecordLocationsAsync(0x61, [new LocationFix(37.54 + (i * 0.0001), 127.07, At.AddSeconds(i))], At.AddSeconds(i), CancellationToken.None);
        }

        Assert.Equal(10, await first.CountTraceAsync(0x61, CancellationToken.None));
        Assert.Equal(10, await second.CountTraceAsync(null, CancellationToken.None));
        Assert.Equal(new GeoPoint(37.541, 127.07), (await first.FindAsync(0x61, CancellationToken.None))!.LastPosition);
        Assert.True(await second.EndAsync(0x61, EscortState.Arrived, At.AddMinutes(1), CancellationToken.None));
        Assert.Empty(await first.ListActiveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_emergency_is_stored_once_per_client_and_key_with_its_alarm_key_lights_and_release()
    {
        var store = new EscortStore(_storage.Open(StoreFile.Escorts));

        (EmergencyRecord first, bool isNew) = await AddAsync(store, "app", "e-1");
        (EmergencyRecord again, bool againNew) = await AddAsync(store, "app", "e-1");
        (EmergencyRecord other, bool otherNew) = await AddAsync(store, "other-app", "e-1");

        Assert.True(isNew);
        Assert.False(againNew);
        Assert.True(otherNew);
        Assert.Equal(first, again with { Lights = first.Lights });
        Assert.Equal("5E000000:" + first.Sequence, first.AlarmKey);
        Assert.NotEqual(first.Sequence, other.Sequence);

        await store.SetEmergencyLightsAsync(first.Sequence, ["L-1", "L-2"], CancellationToken.None);
        Assert.Equal(["L-1", "L-2"], (await store.FindEmergencyByAlarmAsync(first.AlarmKey, CancellationToken.None))!.Lights);
        await store.MarkEmergencyReleasedAsync(first.Sequence, At.AddMinutes(5), CancellationToken.None);
        await store.MarkEmergencyReleasedAsync(first.Sequence, At.AddMinutes(6), CancellationToken.None);
        Assert.Equal(At.AddMinutes(5), (await store.FindEmergencyAsync(first.Sequence, CancellationToken.None))!.ReleasedAt);
        Assert.Equal([other.Sequence], (await store.ListUnreleasedEmergenciesAsync(CancellationToken.None)).Select(e => e.Sequence));
        Assert.Equal(2, await store.CountEmergenciesAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_same_emergency_sent_to_two_instances_at_once_is_one_report_with_one_alarm_key()
    {
        var first = new EscortStore(_storage.Open(StoreFile.Escorts));
        var second = new EscortStore(_storage.Open(StoreFile.Escorts));

        var reports = new List<Task<(EmergencyRecord Record, bool IsNew)>>();
        for (int i = 0; i < 20; i++)
        {
            string key = "e-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            reports.Add(Task.Run(() => AddAsync(first, "app", key)));
            reports.Add(Task.Run(() => AddAsync(second, "app", key)));
        }

        (EmergencyRecord Record, bool IsNew)[] outcomes = await Task.WhenAll(reports);

        foreach (IGrouping<string, (EmergencyRecord Record, bool IsNew)> report in outcomes.GroupBy(o => o.Record.IdempotencyKey))
        {
            Assert.Single(report, o => o.IsNew);
            Assert.Single(report.Select(o => (o.Record.Sequence, o.Record.AlarmKey)).Distinct());
            Assert.Equal("5E000000:" + report.First().Record.Sequence, report.First().Record.AlarmKey);
        }

        Assert.Equal(20, await first.CountEmergenciesAsync(CancellationToken.None));
    }

    private static Task<(EmergencyRecord Record, bool IsNew)> AddAsync(EscortStore store, string client, string key) =>
        store.AddEmergencyAsync(client, key, "hash-" + key, Home, "11215", At, seq => "5E000000:" + seq, CancellationToken.None);

    private static EscortSessionRecord Session(uint id) =>
        new(id, "app", EscortState.Active, Station, Home, [Station, Home], At, At, Station, null);
}
