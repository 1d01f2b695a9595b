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
/// A firmware rollout end to end on real processes and a real Mosquitto: the cloud bridge takes a signed release and
/// runs its stages, the gateway fetches the image once and serves it, and simulated bells running the loader on their
/// simulated flash download, verify, activate, pass their trial and confirm; devices the release does not fit are not touched.
/// </summary>
[Trait("Category", "Ota")]
[Trait("Category", "EndToEnd")]
public sealed class OtaRolloutTests(ITestOutputHelper output)
{
    private static readonly string[] Bells = ["home-bell", "voice-bell"];
    private static readonly string[] BellKinds = ["home", "shop", "voice"];

    [Fact]
    public Task A_rollout_reaches_every_eligible_bell_and_leaves_battery_bells_and_doorbells_untouched() =>
        RunAsync(SimulatedImageBehaviour.Normal, RollOutAsync);

    [Fact]
    public Task A_canary_whose_image_crashes_rolls_back_and_halts_the_rollout_before_any_other_bell_is_offered_it() =>
        RunAsync(SimulatedImageBehaviour.Crash, HaltsAsync);

    private async Task RunAsync(SimulatedImageBehaviour behaviour, Func<AnshimiSystem, SimulatedFleet, ReleaseKey, byte[], CancellationToken, Task> scenario)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        using ReleaseKey key = ReleaseKey.Generate();
        byte[] v1 = Pack(key, "1.0.0", SimulatedImageBehaviour.Normal);
        byte[] v2 = Pack(key, "1.1.0", behaviour);

        var options = new AnshimiSystemOptions { DeviceCount = 6, Profiles = ["home", "shop", "voice", "battery", "doorbell", "home"] };
        options.CloudEnvironment["Firmware__ReleaseKeys__0"] = Convert.ToHexString(key.PublicKey);
        options.CloudEnvironment["Firmware__Interval"] = "00:00:01";
        options.CloudEnvironment["Firmware__OfferRetry"] = "00:00:05";
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        var firmware = new SimulatedFirmwareOptions
        {
            TrustedKeys = [key.PublicKey],
            FactoryReleases = [v1],
            Settings = new UpdateClientSettings { RequestRepeatMs = 5000, TrialTimeoutMs = 60_000 },
        };
        using var log = new StringWriter();
        await using SimulatedFleet fleet = SimulatedFleet.Start(
            system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log), Fleet.FastTimings,
            configureDoorbell: Fleet.FastDoorbellTimings, firmware: firmware);
        try
        {
            await scenario(system, fleet, key, v2, ct);
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
        }
    }

    private static async Task RollOutAsync(AnshimiSystem system, SimulatedFleet fleet, ReleaseKey key, byte[] v2, CancellationToken ct)
    {

        SimulatedDevice[] bells = [.. fleet.Devices.Where(d => d.Updates is not null)];
        Assert.Equal(4, bells.Length);
        await Fleet.Until(async () => (await DevicesAsync(system, ct)).Count(d => Text(d, "runningVersion") == "1.0.0") == bells.Length,
            TimeSpan.FromSeconds(60), "every Wi-Fi bell's version 1.0.0 reported to the cloud", ct);

        string releaseId = await UploadAsync(system, v2, ct);
        SimulatedDevice canary = bells[0];
        using HttpResponseMessage started = await system.Http.PostAsJsonAsync(new Uri(system.CloudUri, "api/firmware/rollouts"), new
        {
            releaseId,
            canary = new[] { canary.Record.DeviceId },
            districtCode = canary.Record.DistrictCode,
            successThreshold = 1.0,
        }, ct);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        string rolloutId = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("rolloutId").GetString()!;

        await Fleet.Until(async () => await RolloutStateAsync(system, rolloutId, ct) == "completed", TimeSpan.FromSeconds(150), "the rollout completed", ct);

        foreach (SimulatedDevice bell in bells)
        {
            DeviceUpdates updates = bell.Updates!;
            Assert.Equal("1.1.0", updates.Boot.Record.ActiveVersion.ToString());
        }

        JsonElement[] devices = await DevicesAsync(system, ct);
        foreach (SimulatedDevice bell in bells)
        {
            JsonElement view = devices.Single(d => Text(d, "deviceId") == bell.Record.DeviceId);
            Assert.Equal("confirmed", Text(view, "state"));
            Assert.Equal("1.1.0", Text(view, "runningVersion"));
        }

        foreach (var other in system.Fleet.Devices.Where(d => d.Profile is "battery" or "doorbell"))
        {
            JsonElement view = devices.Single(d => Text(d, "deviceId") == other.DeviceId);
            Assert.NotEqual("confirmed", Text(view, "state"));
            Assert.NotEqual("1.1.0", Text(view, "runningVersion"));
        }
    }

    private static async Task HaltsAsync(AnshimiSystem system, SimulatedFleet fleet, ReleaseKey key, byte[] v2, CancellationToken ct)
    {
        (SimulatedDevice[] bells, string rolloutId) = await StartAsync(system, fleet, v2, ct);
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
        await Fleet.Until(async () => (await DevicesAsync(system, ct)).Count(d => Text(d, "runningVersion") == "1.0.0") == bells.Length,
            TimeSpan.FromSeconds(60), "every Wi-Fi bell's version 1.0.0 reported to the cloud", ct);

        string releaseId = await UploadAsync(system, release, ct);
        SimulatedDevice canary = bells[0];
        using HttpResponseMessage started = await system.Http.PostAsJsonAsync(new Uri(system.CloudUri, "api/firmware/rollouts"), new
        {
            releaseId,
            canary = new[] { canary.Record.DeviceId },
            districtCode = canary.Record.DistrictCode,
            successThreshold = 1.0,
        }, ct);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        return (bells, (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("rolloutId").GetString()!);
    }

    private static byte[] Pack(ReleaseKey key, string version, SimulatedImageBehaviour behaviour) => ReleasePacker.Pack(
        new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!, BellKinds, Bells, "Anshimi.Bell.Device.Program", 1024),
        [new ReleaseAssembly("Anshimi.Bell.Device.pe", SimulatedApplicationStarter.ImageText("bell " + version, behaviour, 6000)),
            new ReleaseAssembly("Anshimi.Firmware.Core.pe", [.. Enumerable.Range(0, 3000).Select(i => (byte)(i * 31))])],
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
        Text(await system.Http.GetFromJsonAsync<JsonElement>(new Uri(system.CloudUri, "api/firmware/rollouts/" + rolloutId), ct), "state");

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
