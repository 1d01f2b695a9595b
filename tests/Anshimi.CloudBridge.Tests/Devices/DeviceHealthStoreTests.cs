using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Devices;

public sealed class DeviceHealthStoreOnSqliteTests() : DeviceHealthStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class DeviceHealthStoreOnPostgreSqlTests() : DeviceHealthStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// Device status (latest wins) and troubles (once by key) on each storage engine, also when two bridge instances take
/// the same envelopes at once.
/// </summary>
public abstract class DeviceHealthStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly SiteInfo Gangnam = new("home", 37.5172, 127.0473, "서울특별시 강남구 학동로 426");
    private static readonly SiteInfo Jongno = new("shop", 37.5735, 126.9790, "서울특별시 종로구 삼봉로 43");

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task The_newest_status_wins_and_lists_filter_by_district()
    {
        var store = new DeviceHealthStore(_storage.Open(StoreFile.Devices));

        Assert.True(await store.RecordStatusAsync(Status("00003001", Gangnam, At, new DeviceHealth(true, false, false, false, false, 80)), "11680", CancellationToken.None));
        Assert.True(await store.RecordStatusAsync(Status("00003002", Jongno, At, new DeviceHealth(false, true, true, true, true, null)), "11110", CancellationToken.None));
        Assert.False(await store.RecordStatusAsync(Status("00003001", Gangnam, At.AddMinutes(-5), new DeviceHealth(false, false, false, false, false, 99)), "11680", CancellationToken.None));

        DeviceRecord gangnam = Assert.Single(await store.ListDevicesAsync(["11680"], CancellationToken.None));
        Assert.Equal(("00003001", new DeviceHealth(true, false, false, false, false, 80), At), (gangnam.DeviceId, gangnam.Health, gangnam.StatusAt));
        Assert.Equal(["00003001", "00003002"], (await store.ListDevicesAsync(null, CancellationToken.None)).Select(d => d.DeviceId));
        Assert.Empty(await store.ListDevicesAsync([], CancellationToken.None));
        DeviceRecord jongno = (await store.ListDevicesAsync(["11110", "11680"], CancellationToken.None))[1];
        Assert.Equal((new DeviceHealth(false, true, true, true, true, null), (DateTimeOffset?)At.AddSeconds(-30)), (jongno.Health, jongno.LastSeen));
        Assert.Equal(["00003002"], await store.ListLampFaultsAsync(CancellationToken.None));
        IReadOnlyDictionary<string, HashSet<string>> districts = await store.GatewayDistrictsAsync(CancellationToken.None);
        Assert.Equal(["11110", "11680"], districts["gw-a"].Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_trouble_is_stored_once_and_shown_until_its_restore()
    {
        var store = new DeviceHealthStore(_storage.Open(StoreFile.Devices));

        Assert.True(await store.StoreTroubleAsync(Trouble(1, "00002001", 354, 1), "11680", At, CancellationToken.None));
        Assert.False(await store.StoreTroubleAsync(Trouble(1, "00002001", 354, 1), "11680", At.AddSeconds(5), CancellationToken.None));
        Assert.True(await store.StoreTroubleAsync(Trouble(2, "00002002", 302, 1), "11110", At, CancellationToken.None));

        Assert.Equal(["gw-a/2", "gw-a/1"], (await store.ListActiveTroublesAsync(null, CancellationToken.None)).Select(t => t.Key));
        TroubleRecord shown = Assert.Single(await store.ListActiveTroublesAsync(["11680"], CancellationToken.None));
        Assert.Equal(("00002001", 354, At, At), (shown.DeviceId, shown.EventCode, shown.DetectedAt, shown.ReceivedAt));

        Assert.True(await store.StoreTroubleAsync(Trouble(3, "00002001", 354, 3), "11680", At.AddMinutes(1), CancellationToken.None));
        Assert.Equal(["gw-a/2"], (await store.ListActiveTroublesAsync(null, CancellationToken.None)).Select(t => t.Key));
    }

    [Fact]
    public async Task Two_instances_taking_the_same_troubles_at_once_store_each_exactly_once()
    {
        var first = new DeviceHealthStore(_storage.Open(StoreFile.Devices));
        var second = new DeviceHealthStore(_storage.Open(StoreFile.Devices));

        var copies = new List<Task<bool>>();
        for (int sequence = 1; sequence <= 30; sequence++)
        {
            TroubleEnvelope trouble = Trouble(sequence, "000020" + sequence.ToString("X2", System.Globalization.CultureInfo.InvariantCulture), 354, 1);
            copies.Add(Task.Run(() => first.StoreTroubleAsync(trouble, "11680", At, CancellationToken.None)));
            copies.Add(Task.Run(() => second.StoreTroubleAsync(trouble, "11680", At, CancellationToken.None)));
        }

        bool[] stored = await Task.WhenAll(copies);

        Assert.Equal(30, stored.Count(s => s));
        Assert.Equal(30, (await first.ListActiveTroublesAsync(null, CancellationToken.None)).Count);
    }

    private static DeviceStatusEnvelope Status(string deviceId, SiteInfo site, DateTimeOffset at, DeviceHealth health) =>
        new("gw-a", deviceId, "home-panic", site, null, health, at.AddSeconds(-30), at);

    private static TroubleEnvelope Trouble(int sequence, string deviceId, int code, int qualifier) =>
        new("gw-a/" + sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), "gw-a", deviceId, new ContactIdEvent(code, qualifier, 0), "home-panic", Gangnam, At);
}
