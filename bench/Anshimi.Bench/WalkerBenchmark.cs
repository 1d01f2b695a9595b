using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.DeviceSim;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// What a walker under return-home monitoring (귀가모니터링) sees across the site→cloud link: the app back end posts each
/// location fix to the cloud bridge's app API, the escort planner sends a light command over the cloud endpoint and the
/// box's TLS link to its gateway, the gateway broadcasts the signed command into the box's simulated BLE airspace, and the
/// streetlight firmware (anshimi-sim's lights, in this process, joined to that airspace) switches the light ahead to
/// escort mode. Each fix is timed from just before its request until the light's own tick switches it, with the stages
/// seen where they happen: the command passing the endpoint (a probe subscriber), the command frame first on air (a
/// scanning participant in the airspace) and the light's mode change (its radio's beacon for the new mode).
/// </summary>
internal sealed class WalkerBenchmark
{
    /// <summary>The street's lights, one every <see cref="Spacing"/> m east from Seoul City Hall (중구).</summary>
    public const int LightCount = 24;

    public const string AppClient = "anshimi-app-bench";

    /// <summary>The box's downlink timing, set explicitly to the installed defaults (gateway/README.md) so the run prints what the air used.</summary>
    public static readonly TimeSpan AdvertisingInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan Dwell = TimeSpan.FromMilliseconds(400);

    private const string District = "11140";
    private const double Spacing = 30;
    private const double StreetLatitude = 37.5663;
    private const double StreetLongitude = 126.9779;

    // The cloud bridge's escort defaults: lights within 30 m, and up to 60 m + 15 m ahead along the route. Walking in steps of
    // one spacing from 10 m keeps every light at least 5 m off those edges, so each fix lights exactly one new light ahead.
    private const double NearMetres = 30;
    private const double AheadReachMetres = 60 + 15;
    private const double WalkFrom = 10;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(20);
    private static readonly BleAddress ProbeAddress = BleAddress.FromBigEndian([0xC2, 0xA5, 0xFF, 0xFF, 0x00, 0x01]);

    private readonly AnshimiSystem _box;
    private readonly byte[] _escortKey;
    private readonly string _apiKey;
    private readonly int _walks;

    // When each light last switched into escort mode, and when the endpoint and the air first carried an escort command for it.
    private readonly ConcurrentDictionary<uint, DateTimeOffset> _switched = new();
    private readonly ConcurrentDictionary<uint, DateTimeOffset> _commandAtEndpoint = new();
    private readonly ConcurrentDictionary<uint, DateTimeOffset> _commandOnAir = new();
    private readonly ConcurrentQueue<DateTimeOffset> _gatewayTransmissions = new();

    public WalkerBenchmark(AnshimiSystem box, byte[] escortKey, string apiKey, int walks)
    {
        _box = box;
        _escortKey = escortKey;
        _apiKey = apiKey;
        _walks = walks;
    }

    /// <summary>The street, registered with the box's gateway (and so in the cloud bridge's lights file for that box).</summary>
    public static IEnumerable<DeviceRecord> Street() => Enumerable.Range(0, LightCount).Select(i => new DeviceRecord(
        DeviceIdText.Format(0x5A00_0100u + (uint)i),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant(),
        StreetlightFleet.Profile,
        new SiteInfo(StreetlightFleet.Profile, StreetLatitude, LonAt(i * Spacing), string.Create(CultureInfo.InvariantCulture, $"서울특별시 중구 세종대로 보안등 {i + 1}")),
        District));

    /// <summary>The endpoint probe's view of a command to the box: when an escort command for each light first passed.</summary>
    public void OnCommandAtEndpoint(Envelope envelope, DateTimeOffset at)
    {
        if (envelope is LightCommandEnvelope { Mode: LightModeName.Escort } command)
        {
            foreach (string light in command.Lights)
            {
                if (DeviceIdText.TryParse(light, out uint id))
                {
                    _commandAtEndpoint.TryAdd(id, at);
                }
            }
        }
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var log = new StringWriter();
        DeviceRecord[] street = [.. _box.Fleet.Devices.Where(d => d.Profile == StreetlightFleet.Profile)];
        await using SimulatedFleet fleet = SimulatedFleet.Start(
            street, _box.Broker.Host, _box.Broker.Port, Path.Combine(_box.Directory, "lights"), TextWriter.Synchronized(log), escortKey: _escortKey, airspace: _box.Airspace);
        SimulatedLight[] lights = [.. fleet.Lights.OrderBy(l => l.Record.Site.Longitude)];
        foreach (SimulatedLight light in lights)
        {
            // A light beacons in the same tick its mode changes; that tick is the moment it acts on the command.
            uint id = light.Record.NumericId;
            byte last = LightMode.Schedule;
            light.Light.Radio.AdvertisingChanged += (data, _) =>
            {
                byte mode = light.Light.Controller.Mode;
                if (data is not null && mode != last)
                {
                    if (mode == LightMode.Escort)
                    {
                        _switched[id] = DateTimeOffset.UtcNow;
                    }

                    last = mode;
                }
            };
        }

        await using var air = new UdpAirspaceTransport(_box.Airspace!, ProbeAddress, TimeProvider.System);
        BleAddress gateway = BleAddress.FromBigEndian([0x02, 0xA5, 0x00, 0x00, 0x00, 0x01]);

        // The gateway seals each light's commands as version-2 downlink frames under that light's keys, whose id only the
        // light can resolve: the probe opens each frame as every light of the street would.
        var codec = new FrameCodecV2(new PlatformHmacSha256());
        (uint Id, FrameKeySet Keys)[] receivers = [.. street.Select(r => (r.NumericId, new FrameKeySet(new PlatformHmacSha256(), Convert.FromHexString(r.KeyHex), 0)))];
        var opening = new Lock();
        air.AdvertisementReceived += (_, report) =>
        {
            DateTimeOffset now = DateTimeOffset.UtcNow;
            if (report.Address != gateway)
            {
                return;
            }

            _gatewayTransmissions.Enqueue(now);
            if (BleAdvertisement.TryFindFrame(report.Data, 0, report.Data.Length, out int offset, out int length) &&
                FrameCodecV2.IsVersion2(report.Data, offset, length))
            {
                lock (opening)
                {
                    foreach ((uint id, FrameKeySet keys) in receivers)
                    {
                        FrameReadResult frame = codec.Decode(report.Data, offset, length, FrameDirectionBit.Downlink, id, keys);
                        if (frame.IsOk)
                        {
                            if (frame.Frame!.Type == FrameType.Command && FramePayloads.CommandMode(frame.Frame) == LightMode.Escort)
                            {
                                _commandOnAir.TryAdd(id, now);
                            }

                            break;
                        }
                    }
                }
            }
        };
        await air.StartScanningAsync(BleScanParameters.Continuous, ct);

        using HttpClient app = AppWalker.Client(_box.CloudUri, _apiKey);
        await UntilModes(lights, [], ct);
        var total = new List<double>();
        var toEndpoint = new List<double>();
        var toAir = new List<double>();
        var toLight = new List<double>();
        var answered = new List<double>();
        var pace = new Random(10);
        int missed = 0;
        int early = 0;
        int seenAtEndpoint = 0;
        int seenOnAir = 0;
        for (int walk = 0; walk < _walks; walk++)
        {
            using HttpResponseMessage started = await app.PostAsJsonAsync("api/app/v1/escorts", new
            {
                origin = At(WalkFrom),
                destination = At(Spacing * (LightCount - 1)),
                route = new[] { At(WalkFrom), At(Spacing * (LightCount - 1)) },
            }, ct);
            started.EnsureSuccessStatusCode();
            string session = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("sessionId").GetString()!;
            await UntilModes(lights, Escorting(WalkFrom), ct);

            for (double metres = WalkFrom + Spacing; metres < Spacing * (LightCount - 3); metres += Spacing)
            {
                uint[] ahead = [.. Escorting(metres).Except(Escorting(metres - Spacing)).Select(i => lights[i].Record.NumericId)];
                foreach (uint id in ahead)
                {
                    _commandAtEndpoint.TryRemove(id, out _);
                    _commandOnAir.TryRemove(id, out _);
                }

                // A walker's fix falls at any moment of the gateway's dwell rotation; waiting right after the last light's beacon
                // would always land just after a step. Not counted: the fix's clock starts below.
                await Task.Delay(pace.Next((int)(2 * Dwell.TotalMilliseconds)), ct);
                DateTimeOffset sent = DateTimeOffset.UtcNow;
                using HttpResponseMessage moved = await app.PostAsJsonAsync($"api/app/v1/escorts/{session}/locations", new
                {
                    locations = new[] { new { lat = StreetLatitude, lon = LonAt(metres), at = sent } },
                }, ct);
                DateTimeOffset answer = DateTimeOffset.UtcNow;
                moved.EnsureSuccessStatusCode();
                answered.Add((answer - sent).TotalMilliseconds);
                try
                {
                    await UntilModes(lights, Escorting(metres), ct);
                }
                catch (TimeoutException ex)
                {
                    missed++;
                    Console.WriteLine("walker: " + ex.Message);
                    continue;
                }

                foreach (uint id in ahead)
                {
                    if (!_switched.TryGetValue(id, out DateTimeOffset lit) || lit < sent)
                    {
                        // Lit before its fix was sent (the planner reached it earlier than the street's geometry says): not this fix's figure.
                        early++;
                        continue;
                    }

                    total.Add((lit - sent).TotalMilliseconds);
                    bool passed = _commandAtEndpoint.TryGetValue(id, out DateTimeOffset atEndpoint);
                    bool aired = _commandOnAir.TryGetValue(id, out DateTimeOffset onAir);
                    seenAtEndpoint += passed ? 1 : 0;
                    seenOnAir += aired ? 1 : 0;
                    if (passed && aired)
                    {
                        toEndpoint.Add((atEndpoint - sent).TotalMilliseconds);
                        toAir.Add((onAir - atEndpoint).TotalMilliseconds);
                        toLight.Add((lit - onAir).TotalMilliseconds);
                    }
                }
            }

            using HttpResponseMessage ended = await app.PostAsJsonAsync($"api/app/v1/escorts/{session}/end", new { reason = "arrived" }, ct);
            ended.EnsureSuccessStatusCode();
            await UntilModes(lights, [], ct);
        }

        DateTimeOffset[] transmissions = [.. _gatewayTransmissions];
        var gaps = new Percentiles(transmissions.Zip(transmissions.Skip(1), (a, b) => (b - a).TotalMilliseconds).Where(gap => gap < Dwell.TotalMilliseconds));
        Console.WriteLine();
        Console.WriteLine("| walker: app location fix → light ahead in escort mode | result |");
        Console.WriteLine("| --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| the air: gateway advertising interval / dwell per frame and round / streetlight beacon interval / phone's escort advertisement | {AdvertisingInterval.TotalMilliseconds:F0} ms / {Dwell.TotalMilliseconds:F0} ms / {SimulatedLightBeaconMs} ms / {SimulatedLight.PhoneAdvertisingIntervalMs} ms |"));
        Console.WriteLine($"| the air: gateway advertising interval as heard in the airspace | {gaps.Describe()} |");
        Console.WriteLine($"| fix → light ahead in escort mode, {_walks} walks of {LightCount} lights | {new Percentiles(total).Describe()} |");
        Console.WriteLine($"| … app API answered the fix | {new Percentiles(answered).Describe()} |");
        Console.WriteLine($"| … of which fix → escort command passed on by the cloud endpoint | {new Percentiles(toEndpoint).Describe()} |");
        Console.WriteLine($"| … of which endpoint → TLS link → gateway → command frame first on air | {new Percentiles(toAir).Describe()} |");
        Console.WriteLine($"| … of which on air → the light's firmware switched to escort | {new Percentiles(toLight).Describe()} |");
        Console.WriteLine($"| timed fixes whose escort command the endpoint probe / the air probe saw | {seenAtEndpoint} / {seenOnAir} of {total.Count} |");
        Console.WriteLine($"| fixes whose light did not switch within {Settle.TotalSeconds:F0} s / lights ahead already lit before their fix | {missed} / {early} |");
        return missed == 0 ? 0 : 1;
    }

    /// <summary>The streetlight firmware's beacon advertising interval (<c>StreetlightConfig</c>'s default, which the simulated lights run).</summary>
    private static int SimulatedLightBeaconMs => new Anshimi.Firmware.Streetlight.StreetlightConfig(1, new byte[32], StreetLatitude, StreetLongitude).BeaconAdvertisingIntervalMs;

    private static double LonAt(double metres) => Math.Round(StreetLongitude + (metres / (111_320 * Math.Cos(StreetLatitude * Math.PI / 180))), 7);

    private static object At(double metres) => new { lat = StreetLatitude, lon = LonAt(metres) };

    /// <summary>The lights near the walker at <paramref name="metres"/> or ahead of it on the street.</summary>
    private static int[] Escorting(double metres) =>
        [.. Enumerable.Range(0, LightCount).Where(i => Math.Abs((i * Spacing) - metres) <= NearMetres || (i * Spacing > metres && i * Spacing <= metres + AheadReachMetres))];

    /// <summary>Waits until exactly the lights at <paramref name="escorting"/> are in escort mode and every other is on its schedule.</summary>
    private static async Task UntilModes(SimulatedLight[] lights, int[] escorting, CancellationToken ct)
    {
        var expected = new HashSet<int>(escorting);
        string Street() => string.Join(" ", lights.Select(l => SimulatedLight.ModeName(l.Light.Controller.Mode)));
        try
        {
            await Wait.UntilAsync(
                () => lights.Select((l, i) => l.Light.Controller.Mode == (expected.Contains(i) ? LightMode.Escort : LightMode.Schedule)).All(ok => ok),
                Settle, "lights " + string.Join(",", escorting) + " in escort", ct, pollMs: 5);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "; the street: " + Street(), ex);
        }
    }
}
