using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.Firmware;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Firmware;

public sealed class RolloutOnSqliteTests() : RolloutTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class RolloutOnPostgreSqlTests() : RolloutTests(StorageProvider.PostgreSql);

/// <summary>
/// Rollouts on the real bridge (HTTP API, store, audit) with two gateways on a real Mosquitto that speak only envelopes:
/// they bind devices, report each device's firmware with <c>firmware-state</c>, receive the offers and cancels, and fetch
/// the image. The device side is not needed: the gateway's reports are what the cloud acts on.
/// </summary>
[Trait("Category", "Ota")]
[Trait("Category", "Integration")]
public abstract class RolloutTests(StorageProvider provider) : IAsyncLifetime, IDisposable
{
    private const string BridgeUser = "cloud-bridge";
    private const string North = "gw-ota-north";
    private const string South = "gw-ota-south";
    private const uint Canary = 0xA001;
    private const uint GangnamTwo = 0xA002;
    private const uint Jongno = 0xA003;
    private const uint TooOld = 0xA004;
    private const uint Battery = 0xA005;
    private const uint Silent = 0xA006;
    private const uint Light = 0xA007;

    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Envelope>> _commands = new();
    private readonly Dictionary<string, MqttSession> _gateways = [];
    private TestStorage _storage = null!;
    private MosquittoBroker _broker = null!;
    private CloudBridgeHost _bridge = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(provider);
        var options = new MosquittoBrokerOptions();
        options.Users[BridgeUser] = Guid.NewGuid().ToString("N");
        options.AclLines.Add("user " + BridgeUser);
        options.AclLines.Add("topic read anshimi/v1/gw/+/events");
        options.AclLines.Add("topic write anshimi/v1/gw/+/commands");
        foreach (string gateway in new[] { North, South })
        {
            options.Users[gateway] = Guid.NewGuid().ToString("N");
            options.AclLines.Add("user " + gateway);
            options.AclLines.Add("topic write anshimi/v1/gw/" + gateway + "/events");
            options.AclLines.Add("topic read anshimi/v1/gw/" + gateway + "/commands");
        }

        _broker = await MosquittoBroker.StartAsync(options);
        foreach (string gateway in new[] { North, South })
        {
            ConcurrentQueue<Envelope> received = _commands.GetOrAdd(gateway, _ => new());
            MqttSession session = MqttSession.Create(_broker.ClientOptions(gateway));
            session.AddSubscription(TestAlarms.CommandsTopic(gateway), MqttQos.AtLeastOnce, (message, _) =>
            {
                if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
                {
                    received.Enqueue(envelope!);
                }

                return Task.CompletedTask;
            });
            await session.ConnectAsync(CancellationToken.None);
            _gateways[gateway] = session;
        }
    }

    public async Task DisposeAsync()
    {
        if (_bridge is not null)
        {
            await _bridge.DisposeAsync();
        }

        foreach (MqttSession session in _gateways.Values)
        {
            await session.DisposeAsync();
        }

        await _broker.DisposeAsync();
        await _storage.DisposeAsync();
    }

    public void Dispose() => _key.Dispose();

    [Fact]
    public async Task A_rollout_offers_the_canary_then_the_district_then_everyone_each_after_the_previous_stage_succeeded()
    {
        await StartFleetAsync();
        string releaseId = await UploadAsync();

        RolloutView started = await StartRolloutAsync(releaseId, [Canary, TooOld]);

        Assert.Equal(["0000A004"], started.Ineligible);
        Assert.Equal(("running", "canary"), (started.State, started.Stage));
        FirmwareOfferEnvelope canaryOffer = await OfferAsync(North, started.RolloutId, "0000A001");
        Assert.Equal(["0000A001"], canaryOffer.Devices);
        Assert.True(new ReleaseVerifier([_key.PublicKey]).VerifyManifest(canaryOffer.Manifest, Convert.FromHexString(canaryOffer.SignatureHex)).IsValid);
        Assert.DoesNotContain(Offers(North, started.RolloutId).Concat(Offers(South, started.RolloutId)), o => o.Devices.Contains("0000A002"));

        foreach (string state in new[] { "offered", "downloading", "verified", "activating", "trial" })
        {
            await ReportAsync(North, Canary, state, releaseId, started.RolloutId);
        }

        await Task.Delay(600);
        Assert.Equal("canary", (await RolloutAsync(started.RolloutId)).Stage);
        await ReportAsync(North, Canary, "confirmed", releaseId, started.RolloutId, version: "1.1.0");

        await OfferAsync(North, started.RolloutId, "0000A002");
        Assert.DoesNotContain(Offers(South, started.RolloutId), o => o.Devices.Contains("0000A003"));
        Assert.Equal("district", (await RolloutAsync(started.RolloutId)).Stage);
        await ReportAsync(North, GangnamTwo, "confirmed", releaseId, started.RolloutId, version: "1.1.0");

        FirmwareOfferEnvelope everyone = await OfferAsync(South, started.RolloutId, "0000A003");
        Assert.Equal(["0000A003"], everyone.Devices);
        await ReportAsync(South, Jongno, "confirmed", releaseId, started.RolloutId, version: "1.1.0");

        await Eventually.HoldsAsync(async () => (await RolloutAsync(started.RolloutId)).State == RolloutState.Completed, "rollout completed");
        RolloutView done = await RolloutAsync(started.RolloutId);
        Assert.Equal([(1, 1), (1, 1), (1, 1)], done.Stages.Select(s => (s.Devices, s.Confirmed)));
        Assert.DoesNotContain(done.Devices!, d => d.DeviceId is "0000A004" or "0000A005" or "0000A006");
        Assert.Equal(
            [FirmwareRollouts.StartedAction, FirmwareRollouts.StageStartedAction, FirmwareRollouts.StageEndedAction, FirmwareRollouts.StageStartedAction,
                FirmwareRollouts.StageEndedAction, FirmwareRollouts.StageStartedAction, FirmwareRollouts.StageEndedAction, FirmwareRollouts.CompletedAction],
            await AuditedAsync(started.RolloutId));
        List<DeviceFirmwareView> devices = (await _bridge.Http.GetFromJsonAsync<List<DeviceFirmwareView>>(new Uri("/api/firmware/devices", UriKind.Relative)))!;
        Assert.Equal(("1.1.0", "confirmed"), devices.Where(d => d.DeviceId == "0000A003").Select(d => (d.RunningVersion, d.State)).Single());
        Assert.False(devices.Single(d => d.DeviceId == "0000A005").OverTheAir);
    }

    [Fact]
    public async Task A_canary_failure_halts_the_rollout_cancels_the_downloads_and_a_resume_goes_on()
    {
        await StartFleetAsync();
        string releaseId = await UploadAsync();
        RolloutView started = await StartRolloutAsync(releaseId, [Canary, GangnamTwo], failureThreshold: 0.4);
        await OfferAsync(North, started.RolloutId, "0000A002");

        await ReportAsync(North, GangnamTwo, "downloading", releaseId, started.RolloutId);
        await ReportAsync(North, Canary, "rolled-back", releaseId, started.RolloutId, reason: "crashed");

        await Eventually.HoldsAsync(async () => (await RolloutAsync(started.RolloutId)).State == RolloutState.Halted, "halted after the canary failed");
        RolloutView halted = await RolloutAsync(started.RolloutId);
        Assert.Equal((HaltReason.FailureThreshold, "canary"), (halted.HaltReason, halted.Stage));
        await Eventually.HoldsAsync(() => _commands[North].OfType<FirmwareCancelEnvelope>().Any(c => c.RolloutId == started.RolloutId), "cancel at the gateway");
        await ReportAsync(North, GangnamTwo, "cancelled", releaseId, started.RolloutId);
        await Task.Delay(600);
        Assert.Equal(RolloutState.Halted, (await RolloutAsync(started.RolloutId)).State);
        Assert.Empty(Offers(South, started.RolloutId));

        int offersBefore = Offers(North, started.RolloutId).Count(o => o.Devices.Contains("0000A002"));
        using HttpResponseMessage resume = await PostAsync($"/api/firmware/rollouts/{started.RolloutId}/resume");
        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        await Eventually.HoldsAsync(() => Offers(North, started.RolloutId).Count(o => o.Devices.Contains("0000A002")) > offersBefore, "cancelled device offered again");
        await ReportAsync(North, GangnamTwo, "confirmed", releaseId, started.RolloutId, version: "1.1.0");

        // One of two canaries confirmed: below the 0.95 success rate, so the stage's end halts it again.
        await Eventually.HoldsAsync(async () => (await RolloutAsync(started.RolloutId)).HaltReason == HaltReason.StageBelowThreshold, "halted at the stage's end");
        using HttpResponseMessage accept = await PostAsync($"/api/firmware/rollouts/{started.RolloutId}/resume");
        Assert.Equal(HttpStatusCode.OK, accept.StatusCode);
        // No other eligible device in 강남구: the district stage passes empty and everyone's starts.
        await Eventually.HoldsAsync(async () => (await RolloutAsync(started.RolloutId)).Stage == "all", "the last stage");
        await OfferAsync(South, started.RolloutId, "0000A003");

        Assert.Equal(
            [FirmwareRollouts.StartedAction, FirmwareRollouts.StageStartedAction, FirmwareRollouts.HaltedAction, FirmwareRollouts.ResumedAction,
                FirmwareRollouts.StageEndedAction, FirmwareRollouts.HaltedAction, FirmwareRollouts.ResumedAction, FirmwareRollouts.StageStartedAction],
            (await AuditedAsync(started.RolloutId)).Take(8));
    }

    [Fact]
    public async Task A_cancelled_rollout_tells_the_gateways_stops_and_cannot_be_resumed()
    {
        await StartFleetAsync();
        string releaseId = await UploadAsync();
        RolloutView started = await StartRolloutAsync(releaseId, [Canary]);
        await OfferAsync(North, started.RolloutId, "0000A001");

        using HttpResponseMessage cancel = await PostAsync($"/api/firmware/rollouts/{started.RolloutId}/cancel");
        using HttpResponseMessage resume = await PostAsync($"/api/firmware/rollouts/{started.RolloutId}/resume");
        await ReportAsync(North, Canary, "confirmed", releaseId, started.RolloutId, version: "1.1.0");
        await Task.Delay(800);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
        Assert.Equal(("cancelled", "canary"), ((await RolloutAsync(started.RolloutId)).State, (await RolloutAsync(started.RolloutId)).Stage));
        await Eventually.HoldsAsync(() => _commands[North].OfType<FirmwareCancelEnvelope>().Any(c => c.RolloutId == started.RolloutId), "cancel at the gateway");
        Assert.DoesNotContain(Offers(North, started.RolloutId), o => o.Devices.Contains("0000A002"));
        Assert.Contains(FirmwareRollouts.CancelledAction, await AuditedAsync(started.RolloutId));
    }

    [Fact]
    public async Task Devices_that_never_answer_are_offered_again_and_time_out_with_their_stage()
    {
        await StartFleetAsync(new() { ["Firmware:OfferRetry"] = "00:00:00.500", ["Firmware:StageTimeout"] = "00:00:03" });
        string releaseId = await UploadAsync();
        RolloutView started = await StartRolloutAsync(releaseId, [Canary]);

        await Eventually.HoldsAsync(async () => (await RolloutAsync(started.RolloutId)).State == RolloutState.Halted, "halted when the stage timed out",
            TimeSpan.FromSeconds(20));

        RolloutView halted = await RolloutAsync(started.RolloutId);
        Assert.Equal(HaltReason.StageBelowThreshold, halted.HaltReason);
        Assert.Equal(RolloutDevice.TimedOut, halted.Devices!.Single().State);
        Assert.True(Offers(North, started.RolloutId).Count >= 2, "the unanswered offer was sent again");
    }

    [Fact]
    public async Task A_report_about_another_gateways_device_is_refused_and_changes_nothing()
    {
        await StartFleetAsync();
        string releaseId = await UploadAsync();
        RolloutView started = await StartRolloutAsync(releaseId, [Canary]);

        await ReportAsync(South, Canary, "confirmed", releaseId, started.RolloutId, version: "1.1.0", wait: false);

        await Eventually.HoldsAsync(() => _bridge.Refusals.Count(RefusalReason.OtherGatewaysDevice) == 1, "refused as another gateway's device");
        RolloutView rollout = await RolloutAsync(started.RolloutId);
        Assert.Equal((RolloutDevice.Pending, "canary"), (rollout.Devices!.Single().State, rollout.Stage));
    }

    [Fact]
    public async Task A_gateway_fetches_the_image_of_a_release_offered_to_it_and_no_other_gateway_can()
    {
        await StartFleetAsync();
        byte[] file = TestFirmware.Release(_key);
        string releaseId = await UploadAsync(file);
        RolloutView started = await StartRolloutAsync(releaseId, [Canary]);
        await OfferAsync(North, started.RolloutId, "0000A001");

        for (int i = 0; i < 5; i++)
        {
            await PublishAsync(North, new FirmwareFetchEnvelope(releaseId, i));
            await PublishAsync(South, new FirmwareFetchEnvelope(releaseId, i));
        }

        await Eventually.HoldsAsync(() => _commands[North].OfType<FirmwarePartEnvelope>().Select(p => p.Index).Distinct().Count() == 5, "five parts");
        byte[] image = [.. _commands[North].OfType<FirmwarePartEnvelope>().DistinctBy(p => p.Index).OrderBy(p => p.Index).SelectMany(p => p.Data)];
        Assert.Equal(ReleaseFile.Read(file)!.Image, image);
        await Eventually.HoldsAsync(() => _bridge.Services.GetRequiredService<FirmwareReleases>().Refused.GetValueOrDefault(FirmwareReleases.NotOffered) == 5,
            "the other gateway's fetches refused");
        Assert.Empty(_commands[South].OfType<FirmwarePartEnvelope>());
    }

    [Fact]
    public async Task Streetlights_are_offered_a_release_for_their_gateways_carousel_and_battery_bells_are_left_to_the_installer()
    {
        await StartFleetAsync();
        await BindAsync(North, Light, TestAlarms.GangnamGuOffice, "streetlight");
        await ReportAsync(North, Light, "idle", board: "streetlight");
        string releaseId = await UploadAsync(TestFirmware.BleOnlyRelease(_key));

        RolloutView started = await StartRolloutAsync(releaseId, [Light, Battery]);

        Assert.Equal(["0000A005"], started.Ineligible);
        FirmwareOfferEnvelope offer = await OfferAsync(North, started.RolloutId, "0000A007");
        Assert.Equal(["0000A007"], offer.Devices);
    }

    /// <summary>
    /// The bridge, and the fleet as the gateways report it: 강남구 A001 (north), A002 (north), 종로구 A003 (south), all
    /// home bells on 1.0.0; A004 on 0.9.0 (below the minimum); A005 a battery bell; A006 bound but never reported.
    /// </summary>
    private async Task StartFleetAsync(Dictionary<string, string?>? extra = null)
    {
        Dictionary<string, string?> settings = TestFirmware.Settings(_key);
        foreach ((string name, string? value) in _storage.Settings.Concat(extra ?? []))
        {
            settings[name] = value;
        }

        settings["Mqtt:Host"] = _broker.Host;
        settings["Mqtt:Port"] = _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Mqtt:Username"] = BridgeUser;
        settings["Mqtt:Password"] = _broker.PasswordOf(BridgeUser);
        settings["Mqtt:ClientId"] = "cloud-bridge-ota";
        _bridge = await CloudBridgeHost.StartAsync(settings: settings, dataDirectory: _storage.DataDirectory);

        await BindAsync(North, Canary, TestAlarms.GangnamGuOffice, "home");
        await BindAsync(North, GangnamTwo, TestAlarms.GangnamGuOffice, "home");
        await BindAsync(South, Jongno, TestAlarms.JongnoGuOffice, "home");
        await BindAsync(North, TooOld, TestAlarms.GangnamGuOffice, "home");
        await BindAsync(North, Battery, TestAlarms.GangnamGuOffice, "battery");
        await BindAsync(North, Silent, TestAlarms.GangnamGuOffice, "home");
        await ReportAsync(North, Canary, "idle");
        await ReportAsync(North, GangnamTwo, "idle");
        await ReportAsync(South, Jongno, "idle");
        await ReportAsync(North, TooOld, "idle", version: "0.9.0");
        await ReportAsync(North, Battery, "idle", board: "battery-bell");
    }

    private async Task BindAsync(string gateway, uint device, (double Lat, double Lon) place, string profile)
    {
        await PublishAsync(gateway, TestAlarms.Bound(device, place, gateway, profile: profile));
        await Eventually.HoldsAsync(() => _commands[gateway].OfType<DeviceBoundReceiptEnvelope>().Any(r => r.DeviceId == Protocol.DeviceIdText.Format(device)),
            "binding of " + device.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Publishes the gateway's firmware-state for the device and, unless told not to, waits until the cloud recorded it.</summary>
    private async Task ReportAsync(
        string gateway, uint device, string state, string? releaseId = null, string? rolloutId = null, string? reason = null, string version = "1.0.0",
        string board = "home-bell", bool wait = true)
    {
        string id = Protocol.DeviceIdText.Format(device);
        var at = DateTimeOffset.UtcNow;
        await PublishAsync(gateway, new FirmwareStateEnvelope(gateway, id, releaseId, rolloutId, state, reason, 0, releaseId is null ? 0 : 5, version, "1.0.0", board, at));
        if (wait)
        {
            FirmwareStore store = _bridge.Services.GetRequiredService<FirmwareStore>();
            await Eventually.HoldsAsync(async () => (await store.FindDeviceFirmwareAsync(id, CancellationToken.None))?.ReportedAt >= at.AddMilliseconds(-1),
                id + " " + state + " recorded");
        }
    }

    private Task PublishAsync(string gateway, Envelope envelope) =>
        _gateways[gateway].PublishAsync(TestAlarms.EventsTopic(gateway), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private async Task<string> UploadAsync(byte[]? file = null)
    {
        var content = new ByteArrayContent(file ?? TestFirmware.Release(_key));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await _bridge.Http.PostAsync(new Uri("/api/firmware/releases", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ReleaseView>())!.ReleaseId;
    }

    private async Task<RolloutView> StartRolloutAsync(string releaseId, uint[] canary, double? failureThreshold = null)
    {
        using HttpResponseMessage response = await _bridge.Http.PostAsJsonAsync(new Uri("/api/firmware/rollouts", UriKind.Relative), new
        {
            releaseId,
            canary = canary.Select(Protocol.DeviceIdText.Format).ToArray(),
            districtCode = TestOperators.GangnamCode,
            failureThreshold,
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<RolloutView>())!;
    }

    private async Task<RolloutView> RolloutAsync(string rolloutId) =>
        (await _bridge.Http.GetFromJsonAsync<RolloutView>(new Uri("/api/firmware/rollouts/" + rolloutId, UriKind.Relative)))!;

    private Task<HttpResponseMessage> PostAsync(string path) => _bridge.Http.PostAsync(new Uri(path, UriKind.Relative), null);

    private List<FirmwareOfferEnvelope> Offers(string gateway, string rolloutId) =>
        [.. _commands[gateway].OfType<FirmwareOfferEnvelope>().Where(o => o.RolloutId == rolloutId)];

    private async Task<FirmwareOfferEnvelope> OfferAsync(string gateway, string rolloutId, string device)
    {
        await Eventually.HoldsAsync(() => Offers(gateway, rolloutId).Any(o => o.Devices.Contains(device)), "offer for " + device + " at " + gateway);
        return Offers(gateway, rolloutId).First(o => o.Devices.Contains(device));
    }

    /// <summary>The rollout's audit rows, oldest first.</summary>
    private async Task<List<string>> AuditedAsync(string rolloutId) =>
        [.. (await _bridge.Http.GetFromJsonAsync<List<AuditRecordView>>(new Uri("/api/audit?limit=500&target=" + rolloutId, UriKind.Relative)))!
            .OrderBy(row => row.Id).Select(row => row.Action)];
}
