using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Sites;

/// <summary>
/// The cloud decides who may speak for a device, on a real Mosquitto: two gateway accounts with exactly the rules
/// <see cref="BrokerAccounts.GatewayService"/> gives every gateway — the devices' own (<see cref="AppTestCity.WestGateway"/>,
/// which also owns the street's first ten lights) and a rogue one — and the bridge's account with
/// <see cref="BrokerAccounts.CloudService"/>.
/// </summary>
[Trait("Category", "Sites")]
public sealed class GatewayAuthorizationTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string Home = AppTestCity.WestGateway;
    private const string Rogue = "gw-rogue";
    private const string HomeUser = "gateway-" + Home;
    private const string RogueUser = "gateway-" + Rogue;
    private const string GangnamAddress = "서울특별시 강남구 학동로 426";

    private readonly ConcurrentQueue<Envelope> _homeCommands = new();
    private readonly ConcurrentQueue<Envelope> _rogueCommands = new();
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("cloud-bridge-sites-").FullName;
    private MosquittoBroker _broker = null!;
    private MqttSession _home = null!;
    private MqttSession _rogue = null!;
    private CloudBridgeHost _bridge = null!;

    public async Task InitializeAsync()
    {
        var options = new MosquittoBrokerOptions();
        AddAccount(options, BridgeUser, BrokerAccounts.CloudService());
        AddAccount(options, HomeUser, BrokerAccounts.GatewayService(Home));
        AddAccount(options, RogueUser, BrokerAccounts.GatewayService(Rogue));
        _broker = await MosquittoBroker.StartAsync(options);
        _bridge = await CloudBridgeHost.StartAsync(settings: AppTestCity.Settings(_dataDirectory, new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = _broker.Host,
            ["Mqtt:Port"] = _broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = BridgeUser,
            ["Mqtt:Password"] = _broker.PasswordOf(BridgeUser),
            ["Mqtt:ClientId"] = "cloud-bridge-sites",
        }));
        _home = await ConnectGatewayAsync(HomeUser, Home, _homeCommands);
        _rogue = await ConnectGatewayAsync(RogueUser, Rogue, _rogueCommands);
    }

    public async Task DisposeAsync()
    {
        await _home.DisposeAsync();
        await _rogue.DisposeAsync();
        await _bridge.DisposeAsync();
        await _broker.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Rogue_test_alarms_at_a_bells_next_counters_and_for_the_next_emergency_keys_are_refused_and_the_real_press_and_emergency_reach_the_live_queue()
    {
        await BindAsync(0xB001);
        for (uint counter = 1; counter <= 20; counter++)
        {
            await PublishAsync(_rogue, Rogue, Forged(TestAlarms.Alarm(0xB001, counter, gatewayId: Rogue, test: true)));
        }

        for (uint guess = 1; guess <= 20; guess++)
        {
            AlarmEnvelope pseudo = TestAlarms.Alarm(0x5E000000, guess, TestAlarms.SeoulCityHall, gatewayId: Rogue, test: true);
            await PublishAsync(_rogue, Rogue, pseudo with { Profile = "app" });
        }

        await PublishAsync(_rogue, Rogue, TestAlarms.Bound(0xB001, TestAlarms.JongnoGuOffice, Rogue) with { FrameKeyHex = new string('A', 64) });
        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.BadFrame) == 20 && _bridge.Refusals.Count(RefusalReason.ReservedDevice) == 20 &&
            _bridge.Refusals.Count(RefusalReason.OtherGatewaysDevice) == 1, "the rogue's 41 envelopes refused");
        Assert.Equal(0, await _bridge.Store.CountAsync(CancellationToken.None));
        Assert.Empty(_rogueCommands);
        Assert.Equal(Home, (await _bridge.Bindings.FindAsync(0xB001, CancellationToken.None))!.GatewayId);

        // The real press, at the counter the rogue tried first.
        AlarmEnvelope press = TestAlarms.Alarm(0xB001, 1, gatewayId: Home);
        await PublishAsync(_home, Home, press);
        await Eventually.HoldsAsync(() => Receipts(_homeCommands, press.Key) == 1, "receipt for the real press");
        JsonElement live = await _bridge.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/alarms?view=live", UriKind.Relative));
        JsonElement stored = Assert.Single(live.EnumerateArray());
        Assert.Equal((press.Key, "open", false, "11680"), (
            stored.GetProperty("key").GetString(), stored.GetProperty("state").GetString(), stored.GetProperty("test").GetBoolean(),
            stored.GetProperty("district").GetProperty("code").GetString()));

        // The real app emergency: a key no one could have guessed, in the live queue; its lights blink until resolved.
        using HttpClient app = _bridge.Client();
        JsonElement report = await AppRequests.ReportEmergencyAsync(app, AppTestCity.Along(60), "sites-1");
        string alarmKey = report.GetProperty("alarmKey").GetString()!;
        Assert.True(AlarmKey.TryParse(alarmKey, out AlarmKey key));
        Assert.Equal(0x5E000000u, key.DeviceId);
        Assert.DoesNotContain(key.Counter, Enumerable.Range(1, 20).Select(n => (uint)n));
        Assert.Equal("open", (await _bridge.Store.FindAsync(alarmKey, CancellationToken.None))!.State);
        await Eventually.HoldsAsync(() => LightsCommanded(LightModeName.Emergency).Count == 3, "three lights blinking");
        using HttpResponseMessage resolved = await _bridge.Http.PostAsJsonAsync($"/api/alarms/{alarmKey}/resolve", new { });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        await Eventually.HoldsAsync(() => LightsCommanded(LightModeName.Release).SetEquals(LightsCommanded(LightModeName.Emergency)), "the same lights released");

        string metrics = await _bridge.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(20, Prometheus.Value(metrics, "anshimi_cloud_bridge_envelopes_refused_total{reason=\"bad_frame\"}", absent: -1));
        Assert.Equal(20, Prometheus.Value(metrics, "anshimi_cloud_bridge_envelopes_refused_total{reason=\"reserved_device\"}", absent: -1));
        Assert.Equal(1, Prometheus.Value(metrics, "anshimi_cloud_bridge_envelopes_refused_total{reason=\"other_gateways_device\"}", absent: -1));
        IReadOnlyList<JsonElement> audited = await SecurityEventsAsync();
        Assert.Contains(audited, e => e.GetProperty("target").GetString() == "0000B001:1" && e.GetProperty("outcome").GetString() == RefusalReason.BadFrame);
        Assert.Contains(audited, e => e.GetProperty("target").GetString() == "0000B001" && e.GetProperty("outcome").GetString() == RefusalReason.OtherGatewaysDevice);
        Assert.Contains(audited, e => e.GetProperty("target").GetString() == "5E000000:1" && e.GetProperty("outcome").GetString() == RefusalReason.ReservedDevice);
        Assert.All(audited, e => Assert.Equal("gateway:" + Rogue, e.GetProperty("actor").GetString()));
    }

    [Fact]
    public async Task A_real_alarm_with_a_made_up_address_is_refused_and_an_own_gateways_address_is_never_taken_over_the_clouds_record()
    {
        await BindAsync(0xB002);
        AlarmEnvelope madeUp = TestAlarms.Alarm(0xC0FFEE, 1, TestAlarms.JongnoGuOffice, Rogue, address: "서울특별시 종로구 어딘가 1");
        await PublishAsync(_rogue, Rogue, madeUp);
        await PublishAsync(_rogue, Rogue, Forged(TestAlarms.Alarm(0xB002, 1, TestAlarms.JongnoGuOffice, Rogue, address: "서울특별시 종로구 어딘가 1")));
        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.UnboundDevice) == 1 && _bridge.Refusals.Count(RefusalReason.BadFrame) == 1, "both refused");
        Assert.Equal(0, await _bridge.Store.CountAsync(CancellationToken.None));

        // Even the device's own gateway does not place an alarm: the binding does.
        AlarmEnvelope own = TestAlarms.Alarm(0xB002, 1, TestAlarms.JongnoGuOffice, Home, address: "서울특별시 종로구 어딘가 1");
        await PublishAsync(_home, Home, own);
        await Eventually.HoldsAsync(() => Receipts(_homeCommands, own.Key) == 1, "receipt");
        AlarmRecordSite((await _bridge.Store.FindAsync(own.Key, CancellationToken.None))!, GangnamAddress, "11680");
    }

    [Fact]
    public async Task Any_gateway_may_relay_a_real_alarm_with_the_devices_own_frame_but_not_mark_it_a_test()
    {
        await BindAsync(0xB005);
        AlarmEnvelope relayedTest = TestAlarms.Alarm(0xB005, 1, gatewayId: Rogue, test: true);
        await PublishAsync(_rogue, Rogue, relayedTest);
        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.ForeignTest) == 1, "a test from a foreign gateway refused");

        // The battery bell's BLE burst heard by a neighbouring box: the frame is the bell's own, so it is the bell's alarm.
        AlarmEnvelope relayed = TestAlarms.Alarm(0xB005, 1, TestAlarms.JongnoGuOffice, gatewayId: Rogue);
        await PublishAsync(_rogue, Rogue, relayed);
        await Eventually.HoldsAsync(() => Receipts(_rogueCommands, relayed.Key) == 1, "receipt to the relaying gateway");
        var stored = (await _bridge.Store.FindAsync(relayed.Key, CancellationToken.None))!;
        Assert.Equal(("open", false, Rogue), (stored.State, stored.Test, stored.GatewayId));
        AlarmRecordSite(stored, GangnamAddress, "11680");
    }

    [Fact]
    public async Task A_sealed_version_2_frame_is_opened_under_the_devices_key_and_one_of_another_alarm_or_altered_is_refused()
    {
        await BindAsync(0xB006);
        var sealer = new FrameCodecV2(new PlatformHmacSha256());
        var keys = new FrameKeySet(new PlatformHmacSha256(), TestAlarms.KeyOf(0xB006), 0);
        AlarmEnvelope Sealed(uint counter, uint frameCounter, byte[]? alter = null)
        {
            byte[] frame = sealer.Encode(Frame.Alarm(0xB006, frameCounter, ContactIdCode.Duress, ContactIdQualifier.NewEvent, 1), keys);
            if (alter is not null)
            {
                frame[^1] ^= alter[0];
            }

            return TestAlarms.Alarm(0xB006, counter, gatewayId: Home, code: ContactIdCode.Duress) with { FrameHex = Convert.ToHexStringLower(frame) };
        }

        await PublishAsync(_home, Home, Sealed(2, 3));
        await PublishAsync(_home, Home, Sealed(4, 4, alter: [0x01]));
        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.BadFrame) == 2, "a sealed frame of another counter and an altered one refused");

        AlarmEnvelope duress = Sealed(5, 5);
        await PublishAsync(_home, Home, duress);
        await Eventually.HoldsAsync(() => Receipts(_homeCommands, duress.Key) == 1, "receipt for the sealed duress alarm");
        Assert.Equal(121, (await _bridge.Store.FindAsync(duress.Key, CancellationToken.None))!.EventCode);
    }

    [Fact]
    public async Task A_device_status_from_2099_is_clamped_to_the_clouds_clock_and_leaves_the_district_alone()
    {
        await BindAsync(0xD001, profile: "doorbell", kind: "shop");
        var far = new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await PublishAsync(_home, Home, Status(0xD001, Home, TestAlarms.JongnoGuOffice, lowBattery: false, far));
        await PublishAsync(_rogue, Rogue, Status(0xD001, Rogue, TestAlarms.JongnoGuOffice, lowBattery: false, DateTimeOffset.UtcNow));
        await Eventually.HoldsAsync(() => _bridge.Statistics.DeviceStatuses == 1 && _bridge.Refusals.Count(RefusalReason.OtherGatewaysDevice) == 1, "status taken, the rogue's refused");

        // A later status still lands: the one from 2099 did not outrank it.
        await Task.Delay(20);
        await PublishAsync(_home, Home, Status(0xD001, Home, TestAlarms.JongnoGuOffice, lowBattery: true, DateTimeOffset.UtcNow));
        await Eventually.HoldsAsync(() => _bridge.Statistics.DeviceStatuses == 2, "second status");
        JsonElement devices = await _bridge.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/devices", UriKind.Relative));
        JsonElement device = devices.EnumerateArray().Single(d => d.GetProperty("deviceId").GetString() == "0000D001");
        Assert.Equal("11680", device.GetProperty("district").GetProperty("code").GetString());
        // The list withholds a site without an open alarm; the stored one is still the binding's.
        CloudBridge.Devices.DeviceRecord stored = (await _bridge.Services.GetRequiredService<CloudBridge.Devices.DeviceHealthStore>().ListDevicesAsync(null, CancellationToken.None))
            .Single(d => d.DeviceId == "0000D001");
        Assert.Equal(GangnamAddress, stored.Address);
        Assert.True(device.GetProperty("health").GetProperty("lowBattery").GetBoolean());
        Assert.True(device.GetProperty("statusAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Snapshots_light_outcomes_troubles_and_ack_relayed_about_another_gateways_devices_and_alarms_are_refused_counted_and_audited()
    {
        await BindAsync(0xD002, profile: "doorbell", kind: "shop");
        AlarmEnvelope loitering = TestAlarms.Alarm(0xD002, 1, gatewayId: Home, code: 150);
        await PublishAsync(_home, Home, loitering);
        await Eventually.HoldsAsync(() => Receipts(_homeCommands, loitering.Key) == 1, "the doorbell's alarm stored");
        using HttpResponseMessage acked = await _bridge.Http.PostAsJsonAsync($"/api/alarms/{loitering.Key}/ack", new { });
        Assert.Equal(HttpStatusCode.OK, acked.StatusCode);

        byte[] image = TestSnapshots.Png;
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(image));
        await PublishAsync(_rogue, Rogue, new SnapshotEnvelope(loitering.Key, Rogue, "0000D002", new ContactIdEvent(150, 1, 1), DateTimeOffset.UtcNow, "image/jpeg", sha256, image));
        await PublishAsync(_rogue, Rogue, new LightOutcomeEnvelope("lc-x", Rogue, AppTestCity.LightId(0), LightModeName.Escort, LightOutcomeName.Expired, DateTimeOffset.UtcNow));
        await PublishAsync(_rogue, Rogue, new TroubleEnvelope(Rogue + "/1", Rogue, "0000D002", new ContactIdEvent(350, 1, 0), "doorbell",
            new SiteInfo("shop", TestAlarms.JongnoGuOffice.Lat, TestAlarms.JongnoGuOffice.Lon, "x"), DateTimeOffset.UtcNow));
        await PublishAsync(_rogue, Rogue, new AckRelayedEnvelope(loitering.Key, AckStageName.Acknowledged));
        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.OtherGatewaysDevice) == 3 && _bridge.Refusals.Count(RefusalReason.OtherGatewaysAlarm) == 1,
            "snapshot, light outcome, trouble and ack-relayed refused");

        Assert.Empty(_rogueCommands);
        Assert.Equal(0, _bridge.Statistics.Troubles);
        Assert.DoesNotContain((await _bridge.Store.FindAsync(loitering.Key, CancellationToken.None))!.Timeline, t => t.Stage == "acknowledged-relayed");
        string metrics = await _bridge.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(3, Prometheus.Value(metrics, "anshimi_cloud_bridge_envelopes_refused_total{reason=\"other_gateways_device\"}", absent: -1));
        Assert.Equal(1, Prometheus.Value(metrics, "anshimi_cloud_bridge_envelopes_refused_total{reason=\"other_gateways_alarm\"}", absent: -1));
        IReadOnlyList<JsonElement> audited = await SecurityEventsAsync();
        Assert.Contains(audited, e => e.GetProperty("target").GetString() == AppTestCity.LightId(0));
        Assert.Contains(audited, e => e.GetProperty("target").GetString() == loitering.Key && e.GetProperty("outcome").GetString() == RefusalReason.OtherGatewaysAlarm);

        // The device's own gateway is heard.
        await PublishAsync(_home, Home, new AckRelayedEnvelope(loitering.Key, AckStageName.Acknowledged));
        await Eventually.HoldsAsync(
            async () => (await _bridge.Store.FindAsync(loitering.Key, CancellationToken.None))!.Timeline.Any(t => t.Stage == "acknowledged-relayed"),
            "the home gateway's ack-relayed recorded");
    }

    [Fact]
    public async Task A_conflicting_second_claim_for_an_alarm_key_is_kept_and_flagged_not_dropped()
    {
        await BindAsync(0xB003);
        AlarmEnvelope press = TestAlarms.Alarm(0xB003, 1, gatewayId: Home);
        await PublishAsync(_home, Home, press);
        await PublishAsync(_home, Home, press with { Test = true });
        await Eventually.HoldsAsync(() => Receipts(_homeCommands, press.Key) == 2, "both copies receipted");

        var stored = (await _bridge.Store.FindAsync(press.Key, CancellationToken.None))!;
        Assert.Equal(("open", false), (stored.State, stored.Test));
        Assert.Contains(stored.Timeline, t => t.Stage == "conflicting-claim" && t.Actor == "gateway:" + Home);
        Assert.Equal(1, await _bridge.Store.CountConflictingClaimsAsync(press.Key, CancellationToken.None));
        Assert.Equal(1, _bridge.Refusals.Count(RefusalReason.ConflictingClaim));
        Assert.Contains(await SecurityEventsAsync(Home), e => e.GetProperty("target").GetString() == press.Key);
    }

    [Fact]
    public async Task Only_central_staff_re_home_a_device_and_from_then_on_only_the_new_gateway_speaks_for_it()
    {
        await BindAsync(0xB004);
        using HttpClient gangnam = await _bridge.SignedInAsync(TestOperators.Gangnam);
        using HttpResponseMessage refused = await gangnam.PostAsJsonAsync("/api/bindings/0000B004/rehome", new { gatewayId = Rogue, reason = "box replaced" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        using HttpResponseMessage noReason = await _bridge.Http.PostAsJsonAsync("/api/bindings/0000B004/rehome", new { gatewayId = Rogue });
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);

        using HttpResponseMessage moved = await _bridge.Http.PostAsJsonAsync("/api/bindings/0000B004/rehome", new { gatewayId = Rogue, reason = "게이트웨이 교체 box replaced" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await PublishAsync(_home, Home, Status(0xB004, Home, TestAlarms.GangnamGuOffice, lowBattery: false, DateTimeOffset.UtcNow));
        await PublishAsync(_rogue, Rogue, Status(0xB004, Rogue, TestAlarms.GangnamGuOffice, lowBattery: false, DateTimeOffset.UtcNow));
        await Eventually.HoldsAsync(() => _bridge.Statistics.DeviceStatuses == 1 && _bridge.Refusals.Count(RefusalReason.OtherGatewaysDevice) == 1, "new gateway heard, old refused");

        JsonElement audit = await _bridge.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/audit?target=0000B004", UriKind.Relative));
        JsonElement rehome = audit.EnumerateArray().Single(e => e.GetProperty("action").GetString() == "device-rehomed");
        Assert.Equal(TestOperators.Central.UserName, rehome.GetProperty("actor").GetString());
        Assert.Contains(Home + " -> " + Rogue, rehome.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static void AddAccount(MosquittoBrokerOptions options, string user, IEnumerable<TopicRule> rules)
    {
        options.Users[user] = Guid.NewGuid().ToString("N");
        options.AclLines.Add("user " + user);
        foreach (TopicRule rule in rules)
        {
            options.AclLines.Add("topic " + (rule.Access == TopicAccess.Read ? "read " : "write ") + rule.Topic);
        }
    }

    private static void AlarmRecordSite(Alarms.AlarmRecord stored, string address, string district) =>
        Assert.Equal((address, district), (stored.Address, stored.DistrictCode));

    /// <summary>The alarm with its frame signed under a key that is not the device's: all a gateway without the device's key can make.</summary>
    private static AlarmEnvelope Forged(AlarmEnvelope alarm)
    {
        DeviceIdText.TryParse(alarm.DeviceId, out uint deviceId);
        byte[] frame = new FrameCodec(new PlatformHmacSha256()).Encode(
            Frame.Alarm(deviceId, alarm.Counter, (ushort)alarm.Event.Code, ContactIdQualifier.NewEvent, 1), new byte[32]);
        return alarm with { FrameHex = Convert.ToHexStringLower(frame) };
    }

    private static DeviceStatusEnvelope Status(uint deviceId, string gatewayId, (double Lat, double Lon) place, bool lowBattery, DateTimeOffset at) =>
        new(gatewayId, DeviceIdText.Format(deviceId), "doorbell", new SiteInfo("shop", place.Lat, place.Lon, "서울특별시 종로구 어딘가 1"), "11110",
            new DeviceHealth(false, lowBattery, false, false, false, 90), at, at);

    private async Task BindAsync(uint deviceId, string profile = "home-panic", string kind = "home")
    {
        await PublishAsync(_home, Home, TestAlarms.Bound(deviceId, TestAlarms.GangnamGuOffice, Home, GangnamAddress, profile, kind));
        await Eventually.HoldsAsync(async () => await _bridge.Bindings.FindAsync(deviceId, CancellationToken.None) is not null, "device bound to " + Home);
    }

    private async Task<MqttSession> ConnectGatewayAsync(string user, string gatewayId, ConcurrentQueue<Envelope> commands)
    {
        MqttSession session = MqttSession.Create(_broker.ClientOptions(user));
        session.AddSubscription(Topics.GatewayCommands(gatewayId), MqttQos.AtLeastOnce, (message, _) =>
        {
            if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
            {
                commands.Enqueue(envelope!);
            }

            return Task.CompletedTask;
        });
        await session.ConnectAsync(CancellationToken.None);
        return session;
    }

    private static Task PublishAsync(MqttSession session, string gatewayId, Envelope envelope) =>
        session.PublishAsync(Topics.GatewayEvents(gatewayId), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private static int Receipts(ConcurrentQueue<Envelope> commands, string key) => commands.OfType<AlarmReceiptEnvelope>().Count(r => r.Key == key);

    private HashSet<string> LightsCommanded(string mode) =>
        [.. _homeCommands.OfType<LightCommandEnvelope>().Where(c => c.Mode == mode).SelectMany(c => c.Lights)];

    private async Task<IReadOnlyList<JsonElement>> SecurityEventsAsync(string gatewayId = Rogue)
    {
        JsonElement audit = await _bridge.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/audit?limit=5000", UriKind.Relative));
        return [.. audit.EnumerateArray().Where(e => e.GetProperty("action").GetString() == GatewayRefusals.AuditAction && e.GetProperty("actor").GetString() == "gateway:" + gatewayId)];
    }
}
