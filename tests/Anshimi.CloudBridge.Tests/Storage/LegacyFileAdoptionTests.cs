using System.Data.Common;
using System.Text.RegularExpressions;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Upstreams;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// An alarm file written by the bridge before migrations (<c>legacy-alarms.db</c>: two alarms, one acknowledged with its
/// audit row and pending ack, a gateway heartbeat, an upstream delivery, a sign-in) opens under the migrations unchanged.
/// </summary>
public sealed class LegacyFileAdoptionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("legacy-alarms-").FullName;

    public LegacyFileAdoptionTests()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Storage", "legacy-alarms.db"), Path.Combine(_directory, StoreFile.Alarms.SqliteFileName));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Every_table_index_and_trigger_is_kept_as_it_was_and_only_the_outbox_and_instance_leases_are_added()
    {
        Dictionary<string, string> before = await SchemaAsync();

        using StoreDatabase database = StoreDatabase.Open(new StorageOptions(), _directory, StoreFile.Alarms);
        SqliteConnection.ClearAllPools();
        Dictionary<string, string> after = await SchemaAsync();

        Assert.Equal(
            before.Keys.Order(StringComparer.Ordinal).Concat(["bridge_instances", "schema_versions_alarms", "schema_versions_alarms_version"]).Order(StringComparer.Ordinal),
            after.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, string sql) in before)
        {
            if (name is "ack_outbox" or "upstream_deliveries")
            {
                // ALTER TABLE ADD COLUMN writes the new column into the stored definition; the rest of it stays.
                Assert.Contains("lease_until_ms", after[name], StringComparison.Ordinal);
                Assert.Equal(sql, Regex.Replace(after[name], ", \"lease_(owner|until_ms)\" [A-Z]+", ""));
            }
            else
            {
                Assert.Equal(sql, after[name]);
            }
        }

        Assert.Equal([2026_12_07_01L, 2026_12_07_02L, 2026_12_07_03L, 2026_12_07_04L], await VersionsAsync());
    }

    [Fact]
    public async Task Its_alarms_acks_deliveries_gateways_and_audit_chain_are_read_and_extended_by_the_stores()
    {
        using StoreDatabase database = StoreDatabase.Open(new StorageOptions(), _directory, StoreFile.Alarms);
        var store = new AlarmStore(database);
        var audit = new AuditLog(database, new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero)));
        var deliveries = new UpstreamDeliveryStore(store, TimeProvider.System, "bridge");

        IReadOnlyList<AlarmRecord> alarms = await store.ListAsync(10, CancellationToken.None);
        Assert.Equal(["0000A1B2:6", "0000A1B2:5"], alarms.Select(a => a.Key));
        Assert.Equal((AlarmState.Acknowledged, "1168064000"), (alarms[1].State, alarms[1].NeighbourhoodCode));
        Assert.Equal([TimelineStage.Raised, TimelineStage.Received, TimelineStage.Acknowledged], alarms[1].Timeline.Select(t => t.Stage));
        PendingAck ack = Assert.Single(await store.ClaimDueAcksAsync("bridge", DateTimeOffset.MaxValue, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1), 10, CancellationToken.None));
        Assert.Equal(("0000A1B2:5", "acknowledged", "kim"), (ack.Key, ack.Stage, ack.Operator));
        Assert.Equal(["gw-gangnam"], (await store.ListGatewaysAsync(CancellationToken.None)).Select(g => g.GatewayId));
        Assert.Equal(new UpstreamCounts(2, 0), (await deliveries.CountsAsync(CancellationToken.None))["dc09-main"]);
        Assert.Equal("0000A1B2:5", (await deliveries.NextPendingAsync("dc09-main", new HashSet<string>(), CancellationToken.None))!.AlarmKey);
        Assert.Equal(new AuditVerification(true, 2, null, null), await audit.VerifyAsync(CancellationToken.None));

        var alarm = TestAlarms.Alarm(0xA1B2, 7);
        Assert.True(await store.StoreAlarmAsync(alarm, alarm.Key, new Districts.SiteArea("11680", null), DateTimeOffset.UtcNow, CancellationToken.None));
        await audit.AppendAsync(new AuditEntry("lee", AuditAction.SignIn, "lee", "", AuditOutcome.Done, ""), CancellationToken.None);
        Assert.Equal(3, await store.CountAsync(CancellationToken.None));
        Assert.Equal(new AuditVerification(true, 3, null, null), await audit.VerifyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Opening_it_again_runs_no_migration_twice()
    {
        StoreDatabase.Open(new StorageOptions(), _directory, StoreFile.Alarms).Dispose();
        StoreDatabase.Open(new StorageOptions(), _directory, StoreFile.Alarms).Dispose();

        Assert.Equal([2026_12_07_01L, 2026_12_07_02L, 2026_12_07_03L, 2026_12_07_04L], await VersionsAsync());
    }

    private async Task<Dictionary<string, string>> SchemaAsync()
    {
        await using SqliteConnection connection = Open();
        await using DbCommand query = StoreDatabase.Command(connection, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL;");
        return (await StoreDatabase.ReadAllAsync(query, r => (r.GetString(0), r.GetString(1)), CancellationToken.None)).ToDictionary(r => r.Item1, r => r.Item2);
    }

    private async Task<List<long>> VersionsAsync()
    {
        await using SqliteConnection connection = Open();
        await using DbCommand query = StoreDatabase.Command(connection, "SELECT version FROM schema_versions_alarms ORDER BY version;");
        return await StoreDatabase.ReadAllAsync(query, r => r.GetInt64(0), CancellationToken.None);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, StoreFile.Alarms.SqliteFileName), Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
