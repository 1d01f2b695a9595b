using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// Firmware rollouts end to end on real processes and a real Mosquitto, across a mixed fleet: the cloud bridge takes
/// signed releases and runs their stages, the gateway fetches each image once and serves it — over MQTT to Wi-Fi bells
/// and the doorbell, as a BLE carousel in its airspace to the streetlights — and every device runs the loader on its
/// simulated flash: downloads, verifies, activates, passes its trial and confirms. The battery bell is never offered
/// anything (an installer visit, protocol/README.md §11.8).
/// </summary>
[Trait("Category", "Ota")]
[Trait("Category", "EndToEnd")]
public sealed class OtaRolloutTests(ITestOutputHelper output)
{
    private const int Streetlights = 2;
    private static readonly string[] Bells = ["home-bell", "voice-bell"];
    private static readonly string[] BellKinds = ["home", "shop", "voice"];
    private static readonly string[] Doorbell = [SimulatedDoorbell.Profile];
    private static readonly string[] Streetlight = [StreetlightUpdates.Board];

    [Fact]
    public Task A_rollout_per_board_brings_bells_the_doorbell_and_streetlights_to_the_new_version_and_offers_the_battery_bell_nothing() =>
        RunAsync(SimulatedImageBehaviour.Normal, RollOutAsync);

    [Fact]
    public Task A_canary_whose_image_crashes_rolls_back_and_halts_the_rollout_before_any_other_bell_is_offered_it() =>
        RunAsync(SimulatedImageBehaviour.Crash, HaltsAsync);

    private async Task RunAsync(SimulatedImageBehaviour behaviour, Func<AnshimiSystem, SimulatedFleet, Releases, CancellationToken, Task> scenario)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        using ReleaseKey key = ReleaseKey.Generate();
        var releases = new Releases(
            PackBell(key, "1.1.0", behaviour),
            PackDevice(key, "1.1.0", Doorbell, "Anshimi.Doorbell.Device", 1024),
            PackDevice(key, "1.1.0", Streetlight, "Anshimi.Streetlight", 256));

        var options = new AnshimiSystemOptions
        {
            DeviceCount = 6,
            Profiles = ["home", "shop", "voice", "battery", SimulatedDoorbell.Profile, "home"],
            Streetlights = Streetlights,
            BleAirspace = true,
        };
        options.CloudEnvironment["Firmware__ReleaseKeys__0"] = Convert.ToHexString(key.PublicKey);
        options.CloudEnvironment["Firmware__Interval"] = "00:00:01";
        options.CloudEnvironment["Firmware__OfferRetry"] = "00:00:05";

        // Short carousel rounds: a piece every 100 ms, two copies of it (the defaults are 400 and 100 ms).
        options.GatewayEnvironment["Gateway__Ble__AdvertisingInterval"] = "00:00:00.050";
        options.GatewayEnvironment["Gateway__Ble__Dwell"] = "00:00:00.100";
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        var firmware = new SimulatedFirmwareOptions
        {
            TrustedKeys = [key.PublicKey],
            FactoryReleases =
            [
                PackBell(key, "1.0.0", SimulatedImageBehaviour.Normal),
                PackDevice(key, "1.0.0", Doorbell, "Anshimi.Doorbell.Device", 1024),
                PackDevice(key, "1.0.0", Streetlight, "Anshimi.Streetlight", 256),
            ],
            Settings = new UpdateClientSettings { RequestRepeatMs = 5000, TrialTimeoutMs = 60_000 },
        };
        using var log = new StringWriter();
        await using SimulatedFleet fleet = SimulatedFleet.Start(
            system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log), Fleet.FastTimings,
            configureDoorbell: Fleet.FastDoorbellTimings, airspace: system.Airspace, firmware: firmware);
        try
        {
            await scenario(system, fleet, releases, ct);
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
        }
    }

    private static async Task RollOutAsync(AnshimiSystem system, SimulatedFleet fleet, Releases releases, CancellationToken ct)
    {
        SimulatedDevice[] bells = [.. fleet.Devices.Where(d => d.Updates is not null)];
        Assert.Equal(4, bells.Length);
        SimulatedDoorbell doorbell = Assert.Single(fleet.Doorbells);
        Assert.NotNull(doorbell.Updates);
        Assert.Equal(Streetlights, fleet.Lights.Count);
        Assert.All(fleet.Lights, light => Assert.NotNull(light.Light.Updates));
        SimulatedDevice battery = Assert.Single(fleet.Devices, d => d.Record.Profile == "battery");
        Assert.Null(battery.Updates);

        string[] updatable = [.. bells.Select(b => b.Record.DeviceId), doorbell.Record.DeviceId, .. fleet.Lights.Select(l => l.Record.DeviceId)];
        await Fleet.Until(async () => (await DevicesAsync(system, ct)).Count(d => updatable.Contains(Text(d, "deviceId")) && Text(d, "runningVersion") == "1.0.0") == updatable.Length,
            TimeSpan.FromSeconds(60), "every updatable device's version 1.0.0 reported to the cloud", ct);

        // One rollout per board family, all three at once, each from one canary.
        string bellRollout = await StartRolloutAsync(system, releases.Bell, [bells[0].Record.DeviceId], bells[0].Record.DistrictCode, ct);
        string doorbellRollout = await StartRolloutAsync(system, releases.Doorbell, [doorbell.Record.DeviceId], doorbell.Record.DistrictCode, ct);
        string lightRollout = await StartRolloutAsync(system, releases.Streetlight, [fleet.Lights[0].Record.DeviceId], fleet.Lights[0].Record.DistrictCode, ct);

        // The second light hears the carousel its canary was offered and may download and verify the release, but runs its
        // old version until the canary stage has ended: its version is read before the stage, so a switch shows.
        SimulatedLight neighbour = fleet.Lights[1];
        await Fleet.Until(async () =>
        {
            string? running = neighbour.Status(null).Firmware?.Version;
            JsonElement canaryStage = (await RolloutAsync(system, lightRollout, ct)).GetProperty("stages")[0];
            Assert.Equal("1.0.0", running);
            return canaryStage.GetProperty("confirmed").GetInt32() == 1 && canaryStage.GetProperty("open").GetInt32() == 0;
        }, TimeSpan.FromSeconds(150), "the lights' canary stage ended", ct);

        foreach (string rolloutId in new[] { bellRollout, doorbellRollout, lightRollout })
        {
            await Fleet.Until(async () => await RolloutStateAsync(system, rolloutId, ct) == "completed", TimeSpan.FromSeconds(150), "rollout " + rolloutId + " completed", ct);
        }

        // What each device's own flash runs.
        Assert.All(bells, bell => Assert.Equal("1.1.0", bell.Updates!.Boot.Record.ActiveVersion.ToString()));
        Assert.Equal("1.1.0", doorbell.Updates!.Boot.Record.ActiveVersion.ToString());
        Assert.All(fleet.Lights, light => Assert.Equal("1.1.0", light.Light.Updates!.Boot.Record.ActiveVersion.ToString()));
        Assert.All(fleet.Lights, light => Assert.Equal("1.1.0", light.Status(null).Firmware!.Version));

        // What the cloud's device list shows.
        JsonElement[] devices = await DevicesAsync(system, ct);
        foreach (string id in updatable)
        {
            JsonElement view = devices.Single(d => Text(d, "deviceId") == id);
            Assert.Equal("confirmed", Text(view, "state"));
            Assert.Equal("1.1.0", Text(view, "runningVersion"));
            Assert.True(view.GetProperty("overTheAir").GetBoolean());
        }

        JsonElement batteryView = devices.Single(d => Text(d, "deviceId") == battery.Record.DeviceId);
        Assert.False(batteryView.GetProperty("overTheAir").GetBoolean());
        Assert.Equal("unknown", Text(batteryView, "state"));
        Assert.Null(Text(batteryView, "rolloutId"));
    }

    private static async Task HaltsAsync(AnshimiSystem system, SimulatedFleet fleet, Releases releases, CancellationToken ct)
    {
        (SimulatedDevice[] bells, string rolloutId) = await StartAsync(system, fleet, releases.Bell, ct);
        await Fleet.Until(async () => await RolloutStateAsync(system, rolloutId, ct) == "halted", TimeSpan.FromSeconds(120), "the rollout halted", ct);

        SimulatedDevice canary = bells[0];
        await Fleet.Until(() => canary.Updates?.Boot.Record.ActiveVersion.ToString() == "1.0.0" && canary.Updates.Behaviour == SimulatedImageBehaviour.Normal,
            TimeSpan.FromSeconds(30), "the canary back on 1.0.0", ct);
        JsonElement[] devices = await DevicesAsync(system, ct);
        JsonElement view = devices.Single(d => Text(d, "deviceId") == canary.Record.DeviceId);
        Assert.Equal("rolled-back", Text(view, "state"));
        Assert.Equal("crashed", Text(view, "reason"));
        foreach (SimulatedDevice bell in bells.Skip(1))
        {
            Assert.Equal("1.0.0", bell.Updates!.Boot.Record.ActiveVersion.ToString());
            Assert.NotEqual("offered", Text(devices.Single(d => Text(d, "deviceId") == bell.Record.DeviceId), "state"));
        }
    }

    private static async Task<(SimulatedDevice[] Bells, string RolloutId)> StartAsync(AnshimiSystem system, SimulatedFleet fleet, byte[] release, CancellationToken ct)
    {
        SimulatedDevice[] bells = [.. fleet.Devices.Where(d => d.Updates is not null)];
        Assert.Equal(4, bells.Length);
        string[] ids = [.. bells.Select(b => b.Record.DeviceId)];
        await Fleet.Until(async () => (await DevicesAsync(system, ct)).Count(d => ids.Contains(Text(d, "deviceId")) && Text(d, "runningVersion") == "1.0.0") == bells.Length,
            TimeSpan.FromSeconds(60), "every Wi-Fi bell's version 1.0.0 reported to the cloud", ct);

        return (bells, await StartRolloutAsync(system, release, [bells[0].Record.DeviceId], bells[0].Record.DistrictCode, ct));
    }

    private static async Task<string> StartRolloutAsync(AnshimiSystem system, byte[] release, string[] canary, string? districtCode, CancellationToken ct)
    {
        string releaseId = await UploadAsync(system, release, ct);
        using HttpResponseMessage started = await system.Http.PostAsJsonAsync(new Uri(system.CloudUri, "api/firmware/rollouts"), new
        {
            releaseId,
            canary,
            districtCode,
            successThreshold = 1.0,
        }, ct);
        Assert.True(started.StatusCode == HttpStatusCode.Created, await started.Content.ReadAsStringAsync(ct));
        return (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("rolloutId").GetString()!;
    }

    private static byte[] PackBell(ReleaseKey key, string version, SimulatedImageBehaviour behaviour) => ReleasePacker.Pack(
        new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!, BellKinds, Bells, "Anshimi.Bell.Device.Program", 1024),
        [new ReleaseAssembly("Anshimi.Bell.Device.pe", SimulatedApplicationStarter.ImageText("bell " + version, behaviour, 6000)),
            new ReleaseAssembly("Anshimi.Firmware.Core.pe", [.. Enumerable.Range(0, 3000).Select(i => (byte)(i * 31))])],
        key,
        DateTimeOffset.UtcNow);

    /// <summary>A doorbell's or streetlight's release (its kind is its board); a light's in the carousel's 256-byte chunks.</summary>
    private static byte[] PackDevice(ReleaseKey key, string version, string[] board, string application, int chunkSize) => ReleasePacker.Pack(
        new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!, board, board, application + ".Program", chunkSize),
        [new ReleaseAssembly(application + ".pe", SimulatedApplicationStarter.ImageText(application + " " + version, SimulatedImageBehaviour.Normal, 1000))],
        key,
        DateTimeOffset.UtcNow);

    private static async Task<string> UploadAsync(AnshimiSystem system, byte[] file, CancellationToken ct)
    {
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await system.Http.PostAsync(new Uri(system.CloudUri, "api/firmware/releases"), content, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("releaseId").GetString()!;
    }

    private static async Task<JsonElement[]> DevicesAsync(AnshimiSystem system, CancellationToken ct) =>
        (await system.Http.GetFromJsonAsync<JsonElement[]>(new Uri(system.CloudUri, "api/firmware/devices"), ct))!;

    private static async Task<string?> RolloutStateAsync(AnshimiSystem system, string rolloutId, CancellationToken ct) =>
        Text(await RolloutAsync(system, rolloutId, ct), "state");

    private static async Task<JsonElement> RolloutAsync(AnshimiSystem system, string rolloutId, CancellationToken ct) =>
        await system.Http.GetFromJsonAsync<JsonElement>(new Uri(system.CloudUri, "api/firmware/rollouts/" + rolloutId), ct);

    private sealed record Releases(byte[] Bell, byte[] Doorbell, byte[] Streetlight);

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
