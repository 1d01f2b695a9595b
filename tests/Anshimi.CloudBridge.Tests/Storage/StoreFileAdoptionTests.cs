using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// The files of a bridge on SQLite from before migrations open unchanged: <c>LegacyFiles/</c> holds bindings.db,
/// devices.db, snapshots.db, escorts.db and operators.db exactly as the earlier SQLite-only stores wrote them (one device
/// bound, its status and a trouble, a snapshot, an ended walk with two fixes and an emergency, two accounts and a session).
/// </summary>
public sealed class StoreFileAdoptionTests : IDisposable
{
    private static readonly DateTimeOffset Written = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Directory.CreateTempSubdirectory("adopted-").FullName;
    private readonly List<StoreDatabase> _open = [];

    public StoreFileAdoptionTests()
    {
        foreach (string file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Storage", "LegacyFiles"), "*.db"))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }
    }

    public void Dispose()
    {
        _open.ForEach(database => database.Dispose());
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Bindings_written_before_migrations_are_read_and_still_decide_who_speaks()
    {
        var store = new DeviceBindingStore(Open(StoreFile.Bindings));

        DeviceBinding binding = (await store.FindAsync(0xA001, CancellationToken.None))!;
        Assert.Equal(("gw-gangnam", "home-bell", "11680", Written), (binding.GatewayId, binding.Profile, binding.DistrictCode, binding.BoundAt));
        Assert.Equal(Enumerable.Range(1, 32).Select(i => (byte)i), binding.FrameKey);
        Assert.Equal(BindingChange.BoundElsewhere, await store.BindDeviceAsync(
            "gw-other", 0xA001, binding.FrameKey, "home-bell", binding.Site, "11680", Written, CancellationToken.None));
        Assert.Equal(BindingChange.Unchanged, await store.BindDeviceAsync(
            "gw-gangnam", 0xA001, binding.FrameKey, "home-bell", binding.Site, "11680", Written.AddDays(1), CancellationToken.None));
        await AssertMigratedAsync(StoreFile.Bindings);
    }

    [Fact]
    public async Task Device_status_and_troubles_written_before_migrations_are_read_and_keys_stay_unique()
    {
        var store = new DeviceHealthStore(Open(StoreFile.Devices));

        DeviceRecord device = Assert.Single(await store.ListDevicesAsync(["11680"], CancellationToken.None));
        Assert.Equal(("0000A001", new DeviceHealth(false, true, false, false, true, 12), Written), (device.DeviceId, device.Health, device.StatusAt));
        Assert.Equal(["0000A001"], await store.ListLampFaultsAsync(CancellationToken.None));
        TroubleRecord trouble = Assert.Single(await store.ListActiveTroublesAsync(null, CancellationToken.None));
        Assert.Equal(("gw-gangnam/7", 354), (trouble.Key, trouble.EventCode));
        var site = new SiteInfo("home", 37.5172, 127.0473, device.Address);
        Assert.False(await store.StoreTroubleAsync(new TroubleEnvelope("gw-gangnam/7", "gw-gangnam", "0000A001", new ContactIdEvent(354, 1, 0), "home-bell", site, Written), "11680", Written, CancellationToken.None));
        Assert.True(await store.StoreTroubleAsync(new TroubleEnvelope("gw-gangnam/8", "gw-gangnam", "0000A001", new ContactIdEvent(354, 3, 0), "home-bell", site, Written), "11680", Written, CancellationToken.None));
        Assert.Empty(await store.ListActiveTroublesAsync(null, CancellationToken.None));
        await AssertMigratedAsync(StoreFile.Devices);
    }

    [Fact]
    public async Task A_snapshot_written_before_migrations_is_read_byte_for_byte()
    {
        var store = new CloudSnapshotStore(Open(StoreFile.Snapshots));

        SnapshotRecord snapshot = (await store.FindAsync("0000B001:42", CancellationToken.None))!;
        Assert.Equal(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9 }, snapshot.Data);
        Assert.Equal((Written, Written.AddSeconds(3)), (snapshot.TakenAt, snapshot.ReceivedAt));
        Assert.Equal(1, await store.PurgeReceivedBeforeAsync(Written.AddDays(1), CancellationToken.None));
        await AssertMigratedAsync(StoreFile.Snapshots);
    }

    [Fact]
    public async Task Escorts_and_emergencies_written_before_migrations_are_read_and_an_emergency_key_is_still_taken()
    {
        var store = new EscortStore(Open(StoreFile.Escorts));

        EscortSessionRecord walk = (await store.FindAsync(0x00C0FFEE, CancellationToken.None))!;
        Assert.Equal((EscortState.Arrived, new GeoPoint(37.542, 127.072), (DateTimeOffset?)Written.AddMinutes(5)), (walk.State, walk.LastPosition, walk.EndedAt));
        Assert.Equal(2, walk.Route!.Count);
        Assert.Equal(2, await store.CountTraceAsync(0x00C0FFEE, CancellationToken.None));
        EmergencyRecord emergency = (await store.FindEmergencyByAlarmAsync("EMERGENCY:1", CancellationToken.None))!;
        Assert.Equal(["L-1", "L-2"], emergency.Lights);

        (EmergencyRecord again, bool isNew) = await store.AddEmergencyAsync(
            "app-test", "idem-1", "hash-1", new GeoPoint(37.543, 127.073), "11215", Written, seq => "EMERGENCY:" + seq, CancellationToken.None);
        Assert.False(isNew);
        Assert.Equal(emergency.Sequence, again.Sequence);
        (EmergencyRecord next, _) = await store.AddEmergencyAsync(
            "app-test", "idem-2", "hash-2", new GeoPoint(37.543, 127.073), "11215", Written, seq => "EMERGENCY:" + seq, CancellationToken.None);
        Assert.True(next.Sequence > emergency.Sequence, "a new report numbered after the adopted one");
        Assert.Equal("EMERGENCY:" + next.Sequence, next.AlarmKey);
        await AssertMigratedAsync(StoreFile.Escorts);
    }

    [Fact]
    public async Task Accounts_and_a_session_written_before_migrations_still_sign_in()
    {
        var store = new OperatorAccountStore(Open(StoreFile.Operators));

        OperatorSession session = (await store.FindSessionAsync("session-1", Written.AddDays(1), CancellationToken.None))!;
        Assert.Equal(("kim", "김관제", false), (session.Account.UserName, session.Account.DisplayName, session.Account.Central));
        Assert.Equal(["11680", "11650"], session.Account.Districts);
        Assert.True((await store.FindAsync("central", CancellationToken.None))!.Central);
        Assert.True(await store.SetDisabledAsync("kim", disabled: true, CancellationToken.None));
        Assert.Null(await store.FindSessionAsync("session-1", Written.AddDays(1), CancellationToken.None));
        await AssertMigratedAsync(StoreFile.Operators);
    }

    private StoreDatabase Open(StoreFile file)
    {
        StoreDatabase database = StoreDatabase.Open(new StorageOptions(), _directory, file);
        _open.Add(database);
        return database;
    }

    /// <summary>The adopted file now records its migrations, so the next start runs none of them again.</summary>
    private async Task AssertMigratedAsync(StoreFile file)
    {
        await using var connection = new SqliteConnection("Data Source=" + Path.Combine(_directory, file.SqliteFileName) + ";Pooling=False");
        await connection.OpenAsync();
        await using SqliteCommand count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM schema_versions_{file.Name};";
        Assert.True((long)(await count.ExecuteScalarAsync())! >= 1);
    }
}
