using System.Security.Cryptography;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// The demo's walk on real ground: streetlight firmware (anshimi-sim's lights) standing at the real security lights of
/// 화양동 nearest the neighbourhood's centre, and the app back end walking pole to pole among them as `anshimi-sim walk
/// --along` does, through the cloud bridge, real Mosquitto, the gateway and its BLE airspace.
/// </summary>
[Trait("Category", "EndToEnd")]
[Trait("Category", "SeoulData")]
public sealed class SeoulEscortTests(ITestOutputHelper output)
{
    private const int LightCount = 60;
    private const string AppClient = "anshimi-app-e2e";

    [Fact]
    public async Task A_walk_pole_to_pole_through_Hwayang_dong_lights_the_real_lights_on_the_way_and_no_light_far_from_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        byte[] escortKey = RandomNumberGenerator.GetBytes(32);
        string apiKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var options = new AnshimiSystemOptions { DeviceCount = 1, BleAirspace = true, EscortKey = escortKey };
        options.AppClients[AppClient] = apiKey;
        SeoulDistricts districts = SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson"));
        FleetFile neighbourhood = FleetGenerator.Generate(1, "unused", districts, seed: 5, streetlights: LightCount,
            lightSites: LitNeighbourhood.Pick(Path.Combine(RepoPaths.SharedData, "gwangjin-security-lights.csv"), LitNeighbourhood.DefaultCentre, LightCount));
        foreach (DeviceRecord light in neighbourhood.Devices.Where(d => d.Profile == StreetlightFleet.Profile))
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
            SimulatedLight[] lights = [.. fleet.Lights];
            Assert.Equal(LightCount, lights.Length);
            (double Lat, double Lon)[] poles = [.. options.ExtraDevices.Select(d => (d.Site.Latitude, d.Site.Longitude))];
            IReadOnlyList<(double Lat, double Lon)> route = WalkRoute.AlongLights(poles, poles[0], poles[^1]);
            Assert.True(route.Count >= 3, "the walk passes poles on its way: " + route.Count);
            await Fleet.Until(() => lights.All(l => l.Light.Controller.Mode == LightMode.Schedule), TimeSpan.FromSeconds(30), "every light on its schedule", ct);
            Dictionary<string, int> before = lights.ToDictionary(l => l.Record.DeviceId, l => l.Light.Controller.CommandsAccepted);

            using var said = new StringWriter();
            int walked = await new AppWalker(app, said).WalkAsync(route, 10, TimeSpan.FromMilliseconds(500), ct);
            Assert.True(walked == 0, said.ToString());
            await Fleet.Until(() => lights.All(l => l.Light.Controller.Mode == LightMode.Schedule), TimeSpan.FromSeconds(45), "every light back on its schedule", ct);

            // Each pole the walk passes was commanded into escort and let go again; a light over 80 m from every point of
            // the way (beyond 30 m around the walker and 15 m beside the 60 m ahead) heard nothing.
            int far = 0;
            foreach (SimulatedLight light in lights)
            {
                (double Lat, double Lon) at = (light.Record.Site.Latitude, light.Record.Site.Longitude);
                int commands = light.Light.Controller.CommandsAccepted - before[light.Record.DeviceId];
                double fromWalk = Enumerable.Range(0, (int)WalkRoute.Length(route) + 1).Min(m => WalkRoute.Metres(WalkRoute.PointAt(route, m), at));
                if (route.Contains(at))
                {
                    Assert.True(commands >= 2, light.Record.Site.Address + " on the way was lit and let go: " + commands + " commands");
                }
                else if (fromWalk > 80)
                {
                    far++;
                    Assert.True(commands == 0, light.Record.Site.Address + string.Create(System.Globalization.CultureInfo.InvariantCulture, $", {fromWalk:F0} m from the way, heard {commands} commands"));
                }
            }

            Assert.True(far > 0, "some of the neighbourhood's lights stand far from the way");
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }
}
