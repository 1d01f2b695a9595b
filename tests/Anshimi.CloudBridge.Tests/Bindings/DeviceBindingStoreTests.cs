using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Bindings;

public sealed class DeviceBindingStoreOnSqliteTests() : DeviceBindingStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class DeviceBindingStoreOnPostgreSqlTests() : DeviceBindingStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// Who speaks for a device, on each storage engine: a gateway binds only new devices or its own, and of gateways claiming
/// a new device at once through different bridge instances exactly the first wins, once.
/// </summary>
public abstract class DeviceBindingStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly SiteInfo Home = new("home", 37.5172, 127.0473, "서울특별시 강남구 학동로 426");

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_gateway_binds_a_new_device_updates_its_own_and_cannot_take_another_gateways()
    {
        var store = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        byte[] key = Key(1);

        Assert.Equal(BindingChange.Bound, await BindAsync(store, "gw-a", 0xA001, key, Home));
        Assert.Equal(BindingChange.Unchanged, await BindAsync(store, "gw-a", 0xA001, key, Home, At.AddHours(1)));
        Assert.Equal(BindingChange.Updated, await BindAsync(store, "gw-a", 0xA001, Key(2), Home with { Address = "서울특별시 강남구 학동로 428" }, At.AddHours(2)));
        Assert.Equal(BindingChange.BoundElsewhere, await BindAsync(store, "gw-b", 0xA001, Key(3), Home));

        DeviceBinding binding = (await store.FindAsync(0xA001, CancellationToken.None))!;
        Assert.Equal(("gw-a", "서울특별시 강남구 학동로 428", At), (binding.GatewayId, binding.Site.Address, binding.BoundAt));
        Assert.Equal(Key(2), binding.FrameKey);
        Assert.Null(await store.FindAsync(0xA002, CancellationToken.None));
    }

    [Fact]
    public async Task A_re_home_moves_the_device_and_its_old_gateway_is_then_refused()
    {
        var store = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        await BindAsync(store, "gw-a", 0xA001, Key(1), Home);

        DeviceBinding? previous = await store.RehomeAsync(0xA001, "gw-b", CancellationToken.None);

        Assert.Equal("gw-a", previous!.GatewayId);
        Assert.Null(await store.RehomeAsync(0xA0FF, "gw-b", CancellationToken.None));
        Assert.Equal(BindingChange.BoundElsewhere, await BindAsync(store, "gw-a", 0xA001, Key(1), Home));
        Assert.Equal(BindingChange.Unchanged, await BindAsync(store, "gw-b", 0xA001, Key(1), Home));
        Assert.Equal(["gw-b"], (await store.ListAsync(CancellationToken.None)).Select(b => b.GatewayId));
    }

    [Fact]
    public async Task Two_instances_racing_for_each_new_device_bind_it_to_exactly_one_gateway_once()
    {
        var first = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        var second = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        const int Devices = 40;

        var claims = new List<Task<(uint Device, string Gateway, BindingChange Change)>>();
        for (uint device = 0xC001; device < 0xC001 + Devices; device++)
        {
            uint id = device;
            claims.Add(Task.Run(async () => (id, "gw-a", await BindAsync(first, "gw-a", id, Key(1), Home))));
            claims.Add(Task.Run(async () => (id, "gw-b", await BindAsync(second, "gw-b", id, Key(2), Home))));
        }

        (uint Device, string Gateway, BindingChange Change)[] outcomes = await Task.WhenAll(claims);

        foreach (IGrouping<uint, (uint Device, string Gateway, BindingChange Change)> device in outcomes.GroupBy(o => o.Device))
        {
            Assert.Equal([BindingChange.Bound, BindingChange.BoundElsewhere], device.Select(o => o.Change).Order());
            string winner = device.Single(o => o.Change == BindingChange.Bound).Gateway;

            // Both instances read the winner's binding, with the winner's key.
            Assert.Equal(winner, (await first.FindAsync(device.Key, CancellationToken.None))!.GatewayId);
            Assert.Equal(Key(winner == "gw-a" ? 1 : 2), (await second.FindAsync(device.Key, CancellationToken.None))!.FrameKey);
        }

        Assert.Equal(Devices, (await second.ListAsync(CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_binding_made_through_one_instance_is_seen_by_the_other_at_once()
    {
        var first = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        var second = new DeviceBindingStore(_storage.Open(StoreFile.Bindings));
        Assert.Null(await second.FindAsync(0xA001, CancellationToken.None));

        await BindAsync(first, "gw-a", 0xA001, Key(1), Home);
        Assert.Equal("gw-a", (await second.FindAsync(0xA001, CancellationToken.None))!.GatewayId);

        await second.RehomeAsync(0xA001, "gw-b", CancellationToken.None);
        Assert.Equal("gw-b", (await first.FindAsync(0xA001, CancellationToken.None))!.GatewayId);
    }

    private static Task<BindingChange> BindAsync(DeviceBindingStore store, string gateway, uint device, byte[] key, SiteInfo site, DateTimeOffset? at = null) =>
        store.BindDeviceAsync(gateway, device, key, "home-panic", site, "11680", at ?? At, CancellationToken.None);

    private static byte[] Key(int seed) => [.. Enumerable.Range(0, 32).Select(i => (byte)(seed + i))];
}
