using System.Security.Cryptography;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Snapshots;

public sealed class CloudSnapshotStoreOnSqliteTests() : CloudSnapshotStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class CloudSnapshotStoreOnPostgreSqlTests() : CloudSnapshotStoreTests(StorageProvider.PostgreSql);

/// <summary>Doorbell snapshots kept byte for byte and once by key, read by the console's reader, on each storage engine.</summary>
public abstract class CloudSnapshotStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0xFF, 0xD9];

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_snapshot_is_stored_once_and_read_back_byte_for_byte_by_the_console_reader()
    {
        var store = new CloudSnapshotStore(_storage.Open(StoreFile.Snapshots));

        Assert.True(await store.StoreAsync(Snapshot("0000B001:7"), At, CancellationToken.None));
        Assert.False(await store.StoreAsync(Snapshot("0000B001:7") with { GatewayId = "gw-other" }, At.AddSeconds(1), CancellationToken.None));

        SnapshotImage image = (await new StoredSnapshotReader(store).FindAsync("0000B001:7", CancellationToken.None))!;
        Assert.Equal(Jpeg, image.Data);
        Assert.Equal(("0000B001", CloudSnapshotStore.JpegContentType, At.AddSeconds(-2), At), (image.DeviceId, image.ContentType, image.TakenAt, image.ReceivedAt));
        Assert.Equal("gw-a", (await store.FindAsync("0000B001:7", CancellationToken.None))!.GatewayId);
        Assert.Null(await new StoredSnapshotReader(store).FindAsync("0000B001:8", CancellationToken.None));
        Assert.Equal(1, await store.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Two_instances_taking_the_same_snapshots_at_once_keep_each_exactly_once()
    {
        var first = new CloudSnapshotStore(_storage.Open(StoreFile.Snapshots));
        var second = new CloudSnapshotStore(_storage.Open(StoreFile.Snapshots));

        var copies = new List<Task<bool>>();
        for (int counter = 1; counter <= 20; counter++)
        {
            SnapshotEnvelope snapshot = Snapshot("0000B001:" + counter.ToString(System.Globalization.CultureInfo.InvariantCulture));
            copies.Add(Task.Run(() => first.StoreAsync(snapshot, At, CancellationToken.None)));
            copies.Add(Task.Run(() => second.StoreAsync(snapshot, At, CancellationToken.None)));
        }

        Assert.Equal(20, (await Task.WhenAll(copies)).Count(stored => stored));
        Assert.Equal(20, await second.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_retention_purge_removes_only_snapshots_that_arrived_before_the_cutoff()
    {
        var store = new CloudSnapshotStore(_storage.Open(StoreFile.Snapshots));
        await store.StoreAsync(Snapshot("0000B001:1"), At, CancellationToken.None);
        await store.StoreAsync(Snapshot("0000B001:2"), At.AddDays(2), CancellationToken.None);

        Assert.Equal(1, await store.PurgeReceivedBeforeAsync(At.AddDays(1), CancellationToken.None));

        Assert.Null(await store.FindAsync("0000B001:1", CancellationToken.None));
        Assert.NotNull(await store.FindAsync("0000B001:2", CancellationToken.None));
    }

    private static SnapshotEnvelope Snapshot(string key) => new(
        key, "gw-a", "0000B001", new ContactIdEvent(150, 1, 2), At.AddSeconds(-2), CloudSnapshotStore.JpegContentType,
        Convert.ToHexStringLower(SHA256.HashData(Jpeg)), Jpeg);
}
