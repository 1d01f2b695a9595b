using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// The ways a firmware update goes wrong, end to end on a real Mosquitto, the gateway and cloud bridge as processes and a
/// simulated bell running the real loader on its simulated flash. The bell's link to the broker runs through a
/// <see cref="TcpProxy"/>, a man in the middle of what the broker sends it (chunks corrupted or lost in transit, traffic
/// held at a chosen message). Each failure leaves the bell on a working slot that still alarms and gets its
/// acknowledgement, and reaches the cloud's console API as the device's state with its reason.
/// </summary>
[Trait("Category", "Ota")]
[Trait("Category", "EndToEnd")]
public sealed partial class OtaFailureTests(ITestOutputHelper output)
{
    private const string Probe = "ota-probe";
    private const int ChunkSize = 1024;
    private static readonly string[] HomeBell = ["home-bell"];
    private static readonly string[] BellKinds = ["home", "shop", "voice"];

    [Fact]
    public Task A_chunk_corrupted_in_transit_every_time_fails_the_update_with_bad_chunk_and_halts_the_rollout() => RunAsync(async (rig, ct) =>
    {
        Release v2 = rig.Pack("1.1.0");
        rig.Proxy.Tamper(v2.Pattern(4), ProxyTamper.Corrupt);
        string rolloutId = await rig.RollOutAsync(v2, ct);

        await rig.UntilDeviceAsync("failed", "bad_chunk", ct);
        await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "halted", TimeSpan.FromSeconds(30), "the rollout halted", ct);
        Assert.True(rig.Proxy.Tampered >= UpdateClientSettingsForTests.MaxBadCopies, "copies corrupted: " + rig.Proxy.Tampered);
        await rig.StillWorksOnAsync("1.0.0", ct);
    });

    [Fact]
    public Task A_chunk_lost_in_transit_with_the_link_is_asked_for_again_and_the_update_completes() => RunAsync(async (rig, ct) =>
    {
        Release v2 = rig.Pack("1.1.0");
        rig.Proxy.Tamper(v2.Pattern(4), ProxyTamper.Lose, times: 1);
        string rolloutId = await rig.RollOutAsync(v2, ct);

        await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "completed", TimeSpan.FromSeconds(90), "the rollout completed", ct);
        Assert.Equal(1, rig.Proxy.Tampered);
        await rig.UntilDeviceAsync("confirmed", null, ct);
        await rig.StillWorksOnAsync("1.1.0", ct);
    });

    [Fact]
    public Task A_power_cut_during_the_download_resumes_from_the_flash_and_one_before_the_switch_boots_the_old_slot_then_switches() => RunAsync(async (rig, ct) =>
    {
        Release v2 = rig.Pack("1.1.0");
        rig.Proxy.Tamper(v2.Pattern(4), ProxyTamper.Hold, times: 1);
        string first = await rig.RollOutAsync(v2, ct);
        await rig.PowerCutWhileHeldAsync(1, ct);
        await Fleet.Until(async () => await rig.RolloutStateAsync(first, ct) == "completed", TimeSpan.FromSeconds(90), "the first rollout completed", ct);
        await rig.StillWorksOnAsync("1.1.0", ct);

        // Verified and told to switch: the power goes before the loader record is written.
        Release v3 = rig.Pack("1.2.0", minimum: "1.1.0");
        rig.Proxy.Tamper(UpdateMessage.EncodeRelease(UpdateMessage.Activate, v3.IdBytes), ProxyTamper.Hold, times: 1);
        string second = await rig.RollOutAsync(v3, ct);
        await rig.PowerCutWhileHeldAsync(2, ct);
        Assert.Equal("1.1.0", rig.Bell.Updates!.Boot.Record.ActiveVersion.ToString());
        await Fleet.Until(async () => await rig.RolloutStateAsync(second, ct) == "completed", TimeSpan.FromSeconds(90), "the second rollout completed", ct);
        await rig.StillWorksOnAsync("1.2.0", ct);
    });

    [Fact]
    public Task A_bad_signature_a_wrong_board_and_a_downgrade_are_refused_by_the_cloud_and_by_the_bell_when_offered_around_the_cloud() => RunAsync(async (rig, ct) =>
    {
        // Signed by a key the cloud does not trust; and a trusted release whose signature was altered.
        using ReleaseKey stranger = ReleaseKey.Generate();
        Release foreign = rig.Pack("1.1.0", key: stranger);
        Assert.Equal("unknown_key", await rig.RefusedUploadAsync(foreign.File, ct));
        Release tampered = rig.Pack("1.1.0").WithSignatureAltered();
        Assert.Equal("bad_signature", await rig.RefusedUploadAsync(tampered.File, ct));

        // The same files handed straight to the gateway, as a forged offer on its commands topic: the bell refuses.
        await rig.OfferAroundTheCloudAsync(foreign, ct);
        await rig.UntilDeviceAsync("refused", "unknown_key", ct);
        await rig.OfferAroundTheCloudAsync(tampered, ct);
        await rig.UntilDeviceAsync("refused", "bad_signature", ct);

        // Good signatures, but for another board and below the running version: the cloud finds the bell not eligible.
        Release voiceOnly = rig.Pack("1.1.0", boards: ["voice-bell"]);
        Release older = rig.Pack("0.9.0", minimum: "0.0.0", floor: "0.0.0");
        foreach (Release release in new[] { voiceOnly, older })
        {
            string releaseId = await rig.UploadAsync(release.File, ct);
            using HttpResponseMessage refused = await rig.StartRolloutAsync(releaseId, ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(rig.Bell.Record.DeviceId, await refused.Content.ReadAsStringAsync(ct), StringComparison.OrdinalIgnoreCase);
        }

        await rig.OfferAroundTheCloudAsync(voiceOnly, ct);
        await rig.UntilDeviceAsync("refused", "wrong_board", ct);
        await rig.OfferAroundTheCloudAsync(older, ct);
        await rig.UntilDeviceAsync("refused", "downgrade", ct);
        await rig.StillWorksOnAsync("1.0.0", ct);
    });

    [Fact]
    public Task An_image_that_never_connects_rolls_back_within_its_trial_and_halts_the_rollout() => RunAsync(async (rig, ct) =>
    {
        Release silent = rig.Pack("1.1.0", behaviour: SimulatedImageBehaviour.Silent);
        string rolloutId = await rig.RollOutAsync(silent, ct);

        await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "halted", TimeSpan.FromSeconds(120), "the rollout halted", ct);
        await rig.UntilDeviceAsync("rolled-back", "trial_timeout", ct);
        Assert.Equal(SimulatedImageBehaviour.Normal, rig.Bell.Updates!.Behaviour);
        await rig.StillWorksOnAsync("1.0.0", ct);
    });

    [Fact]
    public Task An_update_offered_while_an_alarm_is_pending_is_held_until_the_alarm_is_acknowledged_and_then_proceeds() => RunAsync(async (rig, ct) =>
    {
        // The bell's sends are held on the way, so its alarm waits for the gateway's acknowledgement.
        rig.Proxy.PauseFromClients();
        rig.Bell.Press(400);
        await Fleet.Until(() => rig.Bell.Bell.PendingAlarmCount > 0, TimeSpan.FromSeconds(10), "the alarm pending at the bell", ct);

        Release v2 = rig.Pack("1.1.0");
        rig.Proxy.Tamper(v2.OfferPattern, ProxyTamper.Watch, times: 1);
        string rolloutId = await rig.RollOutAsync(v2, ct);
        await Fleet.Until(() => rig.Proxy.Tampered == 1, TimeSpan.FromSeconds(30), "the offer delivered to the bell", ct);
        await Task.Delay(1000, ct);
        Assert.Equal("1.0.0", rig.Bell.Updates!.Boot.Record.ActiveVersion.ToString());
        Assert.True(rig.Bell.Bell.PendingAlarmCount > 0);

        rig.Proxy.Resume();
        await rig.UntilDeviceAsync("refused", "alarm_pending", ct);
        await Fleet.CloudAlarmOfAsync(rig.System, rig.Bell.Record.DeviceId, TimeSpan.FromSeconds(30), ct);
        await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "completed", TimeSpan.FromSeconds(90), "the rollout completed after the alarm", ct);
        await rig.StillWorksOnAsync("1.1.0", ct);
    });

    [Fact]
    public Task A_gateway_killed_mid_download_resumes_the_offer_from_its_store_after_the_restart() => RunAsync(async (rig, ct) =>
    {
        Release v2 = rig.Pack("1.1.0");
        rig.Proxy.Tamper(v2.Pattern(4), ProxyTamper.Hold, times: 1);
        string rolloutId = await rig.RollOutAsync(v2, ct);
        await Fleet.Until(() => rig.Proxy.Tampered == 1, TimeSpan.FromSeconds(60), "the download held at chunk 4", ct);

        rig.System.Gateway.Kill();
        rig.Proxy.DropConnections();
        rig.Proxy.Resume();
        await rig.System.RestartAsync(rig.System.Gateway, ct);

        await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "completed", TimeSpan.FromSeconds(90), "the rollout completed", ct);
        Assert.Contains("resumed 1 device offers", rig.System.Gateway.ReadLog(), StringComparison.Ordinal);
        await rig.StillWorksOnAsync("1.1.0", ct);
    });

    /// <param name="profiles">The bells, one profile each; one home bell when null.</param>
    private async Task RunAsync(Func<Rig, CancellationToken, Task> scenario, IReadOnlyList<string>? profiles = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using Rig rig = await Rig.StartAsync(cts.Token, profiles);
        try
        {
            await scenario(rig, cts.Token);
        }
        finally
        {
            output.WriteLine(rig.Log.ToString());
            output.WriteLine(rig.System.Gateway.ReadLog());
        }
    }

    /// <summary>The update client's settings the simulated bell runs with here.</summary>
    private static class UpdateClientSettingsForTests
    {
        public const int MaxBadCopies = 5;

        public static UpdateClientSettings Create() => new() { RequestRepeatMs = 2000, TrialTimeoutMs = 10_000, MaxBadCopies = MaxBadCopies };
    }

    /// <summary>A signed release file and what the tests match on the wire.</summary>
    private sealed class Release
    {
        public Release(byte[] file)
        {
            File = file;
            ReleaseFile parsed = ReleaseFile.Read(file) ?? throw new InvalidOperationException("not a release file");
            Parsed = parsed;
            IdBytes = ReleaseManifest.ReleaseIdOf(parsed.ManifestBytes, new Protocol.Security.Sha256());
        }

        public byte[] File { get; }

        public ReleaseFile Parsed { get; }

        public byte[] IdBytes { get; }

        public string Id => ReleaseManifest.Hex(IdBytes);

        /// <summary>24 bytes from inside chunk <paramref name="index"/> of the image, found nowhere else in it.</summary>
        public byte[] Pattern(int index)
        {
            byte[] pattern = Parsed.Image[(index * ChunkSize + 100)..(index * ChunkSize + 124)];
            Assert.Equal(Parsed.Image.AsSpan().IndexOf(pattern), Parsed.Image.AsSpan().LastIndexOf(pattern));
            return pattern;
        }

        /// <summary>The start of the manifest, which only an offer of this release carries.</summary>
        public byte[] OfferPattern => Parsed.ManifestBytes[..32];

        public Release WithSignatureAltered()
        {
            byte[] copy = [.. File];
            int at = copy.AsSpan().IndexOf(Parsed.Signature);
            copy[at + 10] ^= 0x01;
            return new Release(copy);
        }
    }

    private sealed class Rig : IAsyncDisposable
    {
        private readonly ReleaseKey _key;

        private Rig(AnshimiSystem system, TcpProxy proxy, SimulatedFleet fleet, ReleaseKey key, StringWriter log)
        {
            System = system;
            Proxy = proxy;
            Fleet = fleet;
            _key = key;
            Log = log;
        }

        public AnshimiSystem System { get; }

        public TcpProxy Proxy { get; }

        public SimulatedFleet Fleet { get; }

        public StringWriter Log { get; }

        public SimulatedDevice Bell => Fleet.Devices[0];

        public static async Task<Rig> StartAsync(CancellationToken ct, IReadOnlyList<string>? profiles = null)
        {
            ReleaseKey key = ReleaseKey.Generate();
            profiles ??= ["home"];
            var options = new AnshimiSystemOptions { DeviceCount = profiles.Count, Profiles = profiles };
            options.CloudEnvironment["Firmware__ReleaseKeys__0"] = Convert.ToHexString(key.PublicKey);
            options.CloudEnvironment["Firmware__Interval"] = "00:00:01";
            options.CloudEnvironment["Firmware__OfferRetry"] = "00:00:05";
            options.GatewayEnvironment["Gateway__FirmwareResend"] = "00:00:03";
            options.ProbeUsers[Probe] = Convert.ToHexString(global::System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
            options.ProbeTopics.Add(Topics.GatewayCommands(options.GatewayId));
            AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
            var proxy = TcpProxy.Start(system.Broker.Port);
            var log = new StringWriter();
            var firmware = new SimulatedFirmwareOptions
            {
                TrustedKeys = [key.PublicKey],
                FactoryReleases = [PackFile(key, "1.0.0", SimulatedImageBehaviour.Normal, "0.0.0", "0.0.0", HomeBell)],
                Settings = UpdateClientSettingsForTests.Create(),
            };
            SimulatedFleet fleet = SimulatedFleet.Start(
                system.Fleet.Devices, proxy.Host, proxy.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log), EndToEnd.Tests.Fleet.FastTimings,
                firmware: firmware);
            var rig = new Rig(system, proxy, fleet, key, log);
            try
            {
                foreach (SimulatedDevice bell in fleet.Devices)
                {
                    await EndToEnd.Tests.Fleet.Until(async () => Text(await rig.DeviceAsync(ct, bell), "runningVersion") == "1.0.0",
                        TimeSpan.FromSeconds(60), "the bell's version 1.0.0 reported to the cloud", ct);
                }
            }
            catch
            {
                await rig.DisposeAsync();
                throw;
            }

            return rig;
        }

        public Release Pack(string version, string minimum = "1.0.0", string floor = "1.0.0", string[]? boards = null,
            SimulatedImageBehaviour behaviour = SimulatedImageBehaviour.Normal, ReleaseKey? key = null, string[]? kinds = null) =>
            new(PackFile(key ?? _key, version, behaviour, minimum, floor, boards ?? HomeBell, kinds));

        /// <param name="canary">The canary devices; the first bell when null.</param>
        public async Task<string> RollOutAsync(Release release, CancellationToken ct, IReadOnlyList<SimulatedDevice>? canary = null, double? failureThreshold = null)
        {
            string releaseId = await UploadAsync(release.File, ct);
            using HttpResponseMessage started = await StartRolloutAsync(releaseId, ct, canary, failureThreshold);
            Assert.True(started.StatusCode == HttpStatusCode.Created, await started.Content.ReadAsStringAsync(ct));
            return (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("rolloutId").GetString()!;
        }

        public Task<HttpResponseMessage> StartRolloutAsync(string releaseId, CancellationToken ct, IReadOnlyList<SimulatedDevice>? canary = null, double? failureThreshold = null) =>
            System.Http.PostAsJsonAsync(new Uri(System.CloudUri, "api/firmware/rollouts"), new
            {
                releaseId,
                canary = (canary ?? [Bell]).Select(b => b.Record.DeviceId).ToArray(),
                districtCode = Bell.Record.DistrictCode,
                successThreshold = 1.0,
                failureThreshold,
            }, ct);

        public async Task<string> UploadAsync(byte[] file, CancellationToken ct)
        {
            using HttpResponseMessage response = await PostReleaseAsync(file, ct);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
            return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("releaseId").GetString()!;
        }

        /// <summary>Uploads a release the cloud must refuse; returns the reason it gave.</summary>
        public async Task<string?> RefusedUploadAsync(byte[] file, CancellationToken ct)
        {
            using HttpResponseMessage response = await PostReleaseAsync(file, ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return Text(await response.Content.ReadFromJsonAsync<JsonElement>(ct), "reason");
        }

        /// <summary>A <c>firmware-offer</c> published on the gateway's commands topic by a peer that is not the cloud.</summary>
        public async Task OfferAroundTheCloudAsync(Release release, CancellationToken ct)
        {
            var offer = new FirmwareOfferEnvelope("r-forged", release.Id, release.Parsed.ManifestBytes, Convert.ToHexString(release.Parsed.Signature),
                [Bell.Record.DeviceId], DateTimeOffset.UtcNow.AddHours(1));
            string file = Path.Combine(System.Directory, "forged-offer-" + release.Id + ".json");
            await global::System.IO.File.WriteAllBytesAsync(file, EnvelopeSerializer.Serialize(offer), ct);
            (await ProcessRunner.RunAsync("mosquitto_pub", [.. System.Broker.CliArguments(Probe), "-q", "1", "-t", Topics.GatewayCommands(System.Fleet.GatewayId), "-f", file],
                TimeSpan.FromSeconds(20))).EnsureSuccess();
        }

        /// <summary>Once the proxy holds the bell's traffic for the <paramref name="hold"/>-th time: the bell's power and link go, the chip starts again, traffic flows again.</summary>
        public async Task PowerCutWhileHeldAsync(int hold, CancellationToken ct)
        {
            await EndToEnd.Tests.Fleet.Until(() => Proxy.Tampered == hold, TimeSpan.FromSeconds(60), "the bell's traffic held", ct);
            // The link goes with the power; the bell's reconnection waits in the held proxy until the chip runs again.
            Proxy.DropConnections();
            Bell.PowerCycle();
            Proxy.Resume();
        }

        /// <summary>The console API's firmware row of <paramref name="bell"/> (the first bell when null).</summary>
        public async Task<JsonElement> DeviceAsync(CancellationToken ct, SimulatedDevice? bell = null)
        {
            JsonElement[] devices = (await System.Http.GetFromJsonAsync<JsonElement[]>(new Uri(System.CloudUri, "api/firmware/devices"), ct))!;
            return devices.SingleOrDefault(d => Text(d, "deviceId") == (bell ?? Bell).Record.DeviceId);
        }

        /// <summary>Waits until the console API shows the bell in <paramref name="state"/> for <paramref name="reason"/>.</summary>
        public async Task UntilDeviceAsync(string state, string? reason, CancellationToken ct)
        {
            JsonElement last = default;
            try
            {
                await EndToEnd.Tests.Fleet.Until(async () =>
                {
                    last = await DeviceAsync(ct);
                    return last.ValueKind == JsonValueKind.Object && Text(last, "state") == state && (reason is null || Text(last, "reason") == reason);
                }, TimeSpan.FromSeconds(60), "the bell " + state + " (" + reason + ") in the console", ct);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException(ex.Message + "; last seen " + last, ex);
            }
        }

        public async Task<string?> RolloutStateAsync(string rolloutId, CancellationToken ct) =>
            Text(await System.Http.GetFromJsonAsync<JsonElement>(new Uri(System.CloudUri, "api/firmware/rollouts/" + rolloutId), ct), "state");

        /// <summary>The bell runs <paramref name="version"/> and still alarms: the alarm reaches the console and its acknowledgement the bell.</summary>
        public async Task StillWorksOnAsync(string version, CancellationToken ct, SimulatedDevice? bell = null)
        {
            SimulatedDevice device = bell ?? Bell;
            await EndToEnd.Tests.Fleet.Until(() => device.Updates?.Boot.Record.ActiveVersion.ToString() == version && device.Link!.IsConnected,
                TimeSpan.FromSeconds(30), "the bell connected on " + version, ct);
            Assert.False(device.Updates!.Boot.SafeMode);
            int before = (await System.CloudAlarmsAsync(ct)).Count(a => a.GetProperty("deviceId").GetString() == device.Record.DeviceId);
            device.Press(400);
            JsonElement alarm = default;
            await EndToEnd.Tests.Fleet.Until(async () =>
            {
                JsonElement[] mine = [.. (await System.CloudAlarmsAsync(ct)).Where(a => a.GetProperty("deviceId").GetString() == device.Record.DeviceId)];
                alarm = mine.FirstOrDefault(a => a.GetProperty("state").GetString() == "open");
                return mine.Length > before && alarm.ValueKind == JsonValueKind.Object;
            }, TimeSpan.FromSeconds(30), "the bell's alarm in the console", ct);
            using HttpResponseMessage ack = await System.Http.PostAsync(new Uri(System.CloudUri, "api/alarms/" + alarm.GetProperty("key").GetString() + "/ack"), null, ct);
            Assert.True(ack.IsSuccessStatusCode, await ack.Content.ReadAsStringAsync(ct));
            await EndToEnd.Tests.Fleet.Until(() => device.Bell.LedState == LedState.Acknowledged, TimeSpan.FromSeconds(30), "LED: acknowledged by the operator", ct);
        }

        public async ValueTask DisposeAsync()
        {
            await Fleet.DisposeAsync();
            await Proxy.DisposeAsync();
            await System.DisposeAsync();
            _key.Dispose();
        }

        private async Task<HttpResponseMessage> PostReleaseAsync(byte[] file, CancellationToken ct)
        {
            var content = new ByteArrayContent(file);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return await System.Http.PostAsync(new Uri(System.CloudUri, "api/firmware/releases"), content, ct);
        }

        private static byte[] PackFile(ReleaseKey key, string version, SimulatedImageBehaviour behaviour, string minimum, string floor, string[] boards, string[]? kinds = null) =>
            ReleasePacker.Pack(
                new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse(minimum)!, ReleaseVersion.Parse(floor)!, kinds ?? BellKinds, boards, "Anshimi.Bell.Device.Program", ChunkSize),
                [new ReleaseAssembly("Anshimi.Bell.Device.pe", SimulatedApplicationStarter.ImageText("bell " + version, behaviour, 3000)),
                    new ReleaseAssembly("Anshimi.Firmware.Core.pe", global::System.Security.Cryptography.RandomNumberGenerator.GetBytes(5000))],
                key,
                DateTimeOffset.UtcNow);
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
