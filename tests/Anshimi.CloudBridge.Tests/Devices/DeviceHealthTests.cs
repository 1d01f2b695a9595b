using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Devices;

public sealed class DeviceHealthOnSqliteTests() : DeviceHealthTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class DeviceHealthOnPostgreSqlTests() : DeviceHealthTests(StorageProvider.PostgreSql);

/// <summary>
/// Troubles, device status and heartbeats from gateways, as the health panel and device list show them per district, with
/// the bridge's stores on each storage engine.
/// </summary>
public abstract class DeviceHealthTests(StorageProvider provider) : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private TestStorage _storage = null!;
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(provider);
        _host = await CloudBridgeHost.StartAsync(_mqtt, new Dictionary<string, string?>(_storage.Settings)
        {
            ["DeviceHealth:GatewayDownAfter"] = "00:03:00",
        }, configure: services => services.AddSingleton<TimeProvider>(_clock));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task A_trouble_is_stored_once_answered_with_a_receipt_and_shown_until_restored()
    {
        TroubleEnvelope silent = Trouble(1, 0x2001, TestAlarms.GangnamGuOffice, ContactIdQualifier.NewEvent);

        await _host.InjectAsync(TestAlarms.EventsTopic(), silent);
        await _host.InjectAsync(TestAlarms.EventsTopic(), silent);

        Assert.Equal(2, _mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()).Count(r => r.Key == silent.Key));
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        using HttpClient jongno = await _host.SignedInAsync(TestOperators.Jongno);
        JsonElement troubles = (await HealthAsync(gangnam)).GetProperty("troubles");
        JsonElement trouble = Assert.Single(troubles.EnumerateArray());
        Assert.Equal(silent.Key, trouble.GetProperty("key").GetString());
        Assert.Equal("통신 장애", trouble.GetProperty("event").GetProperty("nameKo").GetString());
        Assert.Empty((await HealthAsync(jongno)).GetProperty("troubles").EnumerateArray());

        await _host.InjectAsync(TestAlarms.EventsTopic(), Trouble(2, 0x2001, TestAlarms.GangnamGuOffice, ContactIdQualifier.Restore));

        Assert.Empty((await HealthAsync(gangnam)).GetProperty("troubles").EnumerateArray());
    }

    [Theory]
    [InlineData("gw-other/1")]
    [InlineData("gw-test-01/abc")]
    [InlineData("gw-test-01/")]
    [InlineData("0000A001:1")]
    public async Task A_trouble_with_a_key_not_of_its_gateway_is_dropped_and_counted(string key)
    {
        long before = _host.Statistics.Malformed;

        await _host.InjectAsync(TestAlarms.EventsTopic(), Trouble(1, 0x2002, TestAlarms.GangnamGuOffice, ContactIdQualifier.NewEvent) with { Key = key });

        Assert.Equal(before + 1, _host.Statistics.Malformed);
        Assert.Empty(_mqtt.PublishedOf<AlarmReceiptEnvelope>(TestAlarms.CommandsTopic()));
    }

    [Fact]
    public async Task Device_status_feeds_the_device_list_and_health_panel_per_district_latest_first()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await _host.InjectAsync(TestAlarms.EventsTopic(), Status(0x3001, TestAlarms.GangnamGuOffice, now, new DeviceHealth(true, false, false, false, false, 80)));
        await _host.InjectAsync(TestAlarms.EventsTopic(), Status(0x3002, TestAlarms.GangnamGuOffice, now, new DeviceHealth(false, true, true, false, true, 9)));
        await _host.InjectAsync(TestAlarms.EventsTopic(), Status(0x3003, TestAlarms.JongnoGuOffice, now, new DeviceHealth(true, false, false, false, false, null)));

        // An older status arriving late does not undo a newer one.
        await _host.InjectAsync(TestAlarms.EventsTopic(), Status(0x3001, TestAlarms.GangnamGuOffice, now.AddMinutes(-5), new DeviceHealth(false, false, false, false, false, 80)));

        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        JsonElement devices = await gangnam.GetFromJsonAsync<JsonElement>(new Uri("/api/devices", UriKind.Relative));
        Assert.Equal(["00003001", "00003002"], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()));
        JsonElement health = await HealthAsync(gangnam);
        Assert.Equal(["00003001"], Ids(health, "silent"));
        Assert.Equal(["00003002"], Ids(health, "lowBattery"));
        Assert.Equal(["00003002"], Ids(health, "tamper"));
        Assert.Equal(["00003002"], Ids(health, "lampFaults"));
        Assert.Equal(["00003003"], Ids(await HealthAsync(_host.Http), "silent").Where(id => id == "00003003"));
    }

    [Fact]
    public async Task A_gateway_without_heartbeat_for_the_configured_time_is_down_for_operators_it_serves()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), new GatewayHeartbeatEnvelope(TestAlarms.Gateway, DateTimeOffset.UtcNow, 0));
        await _host.InjectAsync(TestAlarms.EventsTopic(), Status(0x3101, TestAlarms.GangnamGuOffice, DateTimeOffset.UtcNow, new DeviceHealth(false, false, false, false, false, 90)));
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        using HttpClient jongno = await _host.SignedInAsync(TestOperators.Jongno);
        Assert.Empty((await HealthAsync(gangnam)).GetProperty("gatewaysDown").EnumerateArray());

        _clock.Advance(TimeSpan.FromMinutes(3.5));

        JsonElement down = Assert.Single((await HealthAsync(gangnam)).GetProperty("gatewaysDown").EnumerateArray());
        Assert.Equal(TestAlarms.Gateway, down.GetProperty("gatewayId").GetString());
        Assert.Empty((await HealthAsync(jongno)).GetProperty("gatewaysDown").EnumerateArray());
        Assert.Empty((await jongno.GetFromJsonAsync<JsonElement>(new Uri("/api/gateways", UriKind.Relative))).EnumerateArray());
    }

    [Fact]
    public async Task Random_bytes_as_trouble_or_status_never_crash_the_relay()
    {
        var random = new Random(7);
        long before = _host.Statistics.Malformed;
        for (int i = 0; i < 200; i++)
        {
            string json = i % 2 == 0
                ? "{\"kind\":\"trouble\",\"v\":1,\"key\":\"" + random.Next() + "\"}"
                : "{\"kind\":\"device-status\",\"v\":1,\"gatewayId\":" + random.Next() + "}";
            await _host.Ingress.HandleAsync(TestAlarms.EventsTopic(), Encoding.UTF8.GetBytes(json), CancellationToken.None);
        }

        Assert.Equal(before + 200, _host.Statistics.Malformed);
    }

    private static TroubleEnvelope Trouble(int sequence, uint deviceId, (double Lat, double Lon) place, int qualifier) => new(
        TestAlarms.Gateway + "/" + sequence,
        TestAlarms.Gateway,
        DeviceIdText.Format(deviceId),
        new ContactIdEvent(ContactIdCode.CommunicationTrouble, qualifier, 1),
        "home-panic",
        new SiteInfo("home", place.Lat, place.Lon, "서울특별시"),
        DateTimeOffset.UtcNow);

    private static DeviceStatusEnvelope Status(uint deviceId, (double Lat, double Lon) place, DateTimeOffset at, DeviceHealth health) => new(
        TestAlarms.Gateway, DeviceIdText.Format(deviceId), "home-panic", new SiteInfo("home", place.Lat, place.Lon, "서울특별시"), null, health, at, at);

    private static Task<JsonElement> HealthAsync(HttpClient client) =>
        client.GetFromJsonAsync<JsonElement>(new Uri("/api/health", UriKind.Relative));

    private static IEnumerable<string> Ids(JsonElement health, string list) =>
        health.GetProperty(list).EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()!);
}
