using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// Return-home monitoring (귀가모니터링) through every part: the app back end calls the cloud bridge's app API, the
/// escort planner asks the gateway over real Mosquitto, the gateway broadcasts signed commands into its BLE airspace,
/// and the streetlight firmware (anshimi-sim's lights, joined to that airspace) changes mode and confirms in its beacons.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class EscortTests(ITestOutputHelper output)
{
    private const string District = "11140";
    private const int LightCount = 8;
    private const double Spacing = 30;
    private const string AppClient = "anshimi-app-e2e";

    // A street running east from Seoul City Hall (Jung-gu).
    private const double StreetLatitude = 37.5663;
    private const double StreetLongitude = 126.9779;

    // The cloud bridge's defaults: lights within 30 m, and along the next 60 m of the route in a corridor 15 m wide
    // (so up to 75 m ahead). The walk's points keep every light at least 5 m off those edges.
    private const double NearMetres = 30;
    private const double AheadReachMetres = 60 + 15;
    private const double WalkFrom = 10;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_walk_lights_the_streetlights_ahead_and_lets_those_behind_go_and_an_emergency_report_sets_the_nearest_blinking()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        byte[] escortKey = RandomNumberGenerator.GetBytes(32);
        string apiKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var options = new AnshimiSystemOptions { DeviceCount = 1, BleAirspace = true, EscortKey = escortKey };
        options.AppClients[AppClient] = apiKey;
        foreach (DeviceRecord light in Street())
        {
            options.ExtraDevices.Add(light);
        }

        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        using var log = new StringWriter();
        using var app = new HttpClient { BaseAddress = system.CloudUri, Timeout = TimeSpan.FromSeconds(15) };
        app.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        try
        {
            await using SimulatedFleet fleet = SimulatedFleet.Start(
                system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log),
                Fleet.FastTimings, escortKey, airspace: system.Airspace);
            SimulatedLight[] lights = [.. fleet.Lights.OrderBy(l => l.Record.Site.Longitude)];
            Assert.Equal(LightCount, lights.Length);
            Assert.All(lights, l => Assert.Equal(LightMode.Schedule, l.Light.Controller.Mode));

            // The walker sets off by the first light with the street as the planned route, and walks it: at each point the
            // lights around the walker and ahead on the route are in escort mode, the ones passed are back on their schedule.
            using HttpResponseMessage started = await PostAsync(app, "api/app/v1/escorts", new
            {
                origin = At(WalkFrom),
                destination = At(Spacing * (LightCount - 1)),
                route = new[] { At(WalkFrom), At(Spacing * (LightCount - 1)) },
            });
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
            string session = (await started.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("sessionId").GetString()!;
            await UntilWalkerAt(lights, WalkFrom, ct);
            for (double metres = WalkFrom + (2 * Spacing); metres < Spacing * LightCount; metres += 2 * Spacing)
            {
                using HttpResponseMessage moved = await PostAsync(app, $"api/app/v1/escorts/{session}/locations", new
                {
                    locations = new[] { new { lat = Lat, lon = LonAt(metres), at = DateTimeOffset.UtcNow } },
                });
                Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
                await UntilWalkerAt(lights, metres, ct);
            }

            // Home: every light is let go.
            using HttpResponseMessage ended = await PostAsync(app, $"api/app/v1/escorts/{session}/end", new { reason = "arrived" });
            Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
            await UntilModes(lights, [.. Enumerable.Range(0, LightCount)], LightMode.Schedule, ct);
            Assert.All(lights, l => Assert.True(l.Light.Controller.CommandsAccepted > 0, l.Record.DeviceId + " heard no gateway command"));

            // The simulator's stand-in for the app back end walks the whole street again, briskly: every light is lit on
            // the way and let go at the end.
            int[] before = [.. lights.Select(l => l.Light.Controller.CommandsAccepted)];
            using var said = new StringWriter();
            int walked = await new AppWalker(app, said).WalkAsync([(Lat, LonAt(0)), (Lat, LonAt(Spacing * (LightCount - 1)))], 20, TimeSpan.FromMilliseconds(500), ct);
            Assert.True(walked == 0, said.ToString());
            await UntilModes(lights, [.. Enumerable.Range(0, LightCount)], LightMode.Schedule, ct);
            Assert.All(lights.Select((l, i) => (l, i)), x => Assert.True(x.l.Light.Controller.CommandsAccepted >= before[x.i] + 2, x.l.Record.DeviceId + " was not lit and released by the walk"));

            // An emergency report (긴급신고) 100 m along the street: the three nearest lights blink, the others do not, and
            // the district's control center has an open alarm.
            using var report = new HttpRequestMessage(HttpMethod.Post, "api/app/v1/emergencies") { Content = Json(new { location = At(100) }) };
            report.Headers.Add("Idempotency-Key", "e2e-emergency-1");
            using HttpResponseMessage reported = await app.SendAsync(report, ct);
            Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
            string alarmKey = (await reported.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("alarmKey").GetString()!;
            await UntilModes(lights, [2, 3, 4], LightMode.Emergency, ct);
            Assert.All(lights.Where((_, i) => i is < 2 or > 4), l => Assert.Equal(LightMode.Schedule, l.Light.Controller.Mode));

            JsonElement alarm = await system.Http.GetFromJsonAsync<JsonElement>(new Uri(system.CloudUri, "api/alarms/" + alarmKey), ct);
            Assert.Equal(District, alarm.GetProperty("district").GetProperty("code").GetString());
            Assert.Equal(ContactIdCode.Panic, alarm.GetProperty("event").GetProperty("code").GetInt32());
            Assert.Equal("open", alarm.GetProperty("state").GetString());
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    private static double Lat => StreetLatitude;

    private static double LonAt(double metres) => Math.Round(StreetLongitude + (metres / (111_320 * Math.Cos(StreetLatitude * Math.PI / 180))), 7);

    private static object At(double metres) => new { lat = Lat, lon = LonAt(metres) };

    /// <summary>The street's lights, one every <see cref="Spacing"/> m, registered with the test gateway.</summary>
    private static IEnumerable<DeviceRecord> Street() => Enumerable.Range(0, LightCount).Select(i => new DeviceRecord(
        DeviceIdText.Format(0x5A00_0100u + (uint)i),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
        Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant(),
        StreetlightFleet.Profile,
        new SiteInfo(StreetlightFleet.Profile, Lat, LonAt(i * Spacing), string.Create(CultureInfo.InvariantCulture, $"서울특별시 중구 세종대로 보안등 {i + 1}")),
        District));

    /// <summary>Waits until exactly the lights near the walker at <paramref name="metres"/> or ahead of it are escorting.</summary>
    private static async Task UntilWalkerAt(SimulatedLight[] lights, double metres, CancellationToken ct)
    {
        int[] escorting = [.. Enumerable.Range(0, LightCount).Where(i => Math.Abs((i * Spacing) - metres) <= NearMetres || (i * Spacing > metres && i * Spacing <= metres + AheadReachMetres))];
        await UntilModes(lights, escorting, LightMode.Escort, ct);
        await UntilModes(lights, [.. Enumerable.Range(0, LightCount).Except(escorting)], LightMode.Schedule, ct);
    }

    private static async Task UntilModes(SimulatedLight[] lights, int[] indexes, byte mode, CancellationToken ct)
    {
        try
        {
            await Fleet.Until(() => indexes.All(i => lights[i].Light.Controller.Mode == mode), Settle, "lights " + string.Join(",", indexes) + " in mode " + SimulatedLight.ModeName(mode), ct);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "; the street now: " + string.Join(" ", lights.Select(l => SimulatedLight.ModeName(l.Light.Controller.Mode))), ex);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient app, string path, object body) =>
        await app.PostAsync(path, Json(body));

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
