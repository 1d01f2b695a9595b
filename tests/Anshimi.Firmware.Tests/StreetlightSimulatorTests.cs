using System.Net;
using System.Net.Http.Json;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

/// <summary>anshimi-sim with streetlights: generated into the fleet, run on the in-process BLE air, seen and walked past through the control API.</summary>
public sealed class StreetlightSimulatorTests
{
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    [Fact]
    public void Streetlights_are_added_after_the_bells_without_changing_the_seeded_bells_and_get_no_broker_account()
    {
        FleetFile bells = FleetGenerator.Generate(6, "gw", Districts.Value, seed: 3);
        FleetFile mixed = FleetGenerator.Generate(6, "gw", Districts.Value, seed: 3, streetlights: 4);

        Assert.Equal(10, mixed.Devices.Count);
        Assert.Equal(bells.Devices.Select(d => (d.DeviceId, d.Profile, d.Site)), mixed.Devices.Take(6).Select(d => (d.DeviceId, d.Profile, d.Site)));
        Assert.All(mixed.Devices.Skip(6), d => Assert.Equal(StreetlightFleet.Profile, d.Profile));
        string passwd = BrokerAuth.PasswdText(mixed, []);
        Assert.All(mixed.Devices.Skip(6), d => Assert.DoesNotContain(d.DeviceId, passwd, StringComparison.Ordinal));
        Assert.All(mixed.Devices.Take(6), d => Assert.Contains(d.DeviceId, passwd, StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_walker_sent_through_the_control_api_puts_the_light_into_escort_and_its_status_shows_it()
    {
        FleetFile fleet = FleetGenerator.Generate(1, "gw", Districts.Value, seed: 9, streetlights: 2);
        DeviceRecord[] lights = fleet.Devices.Where(d => d.Profile == StreetlightFleet.Profile).ToArray();
        string state = Directory.CreateTempSubdirectory("sim-lights-").FullName;
        try
        {
            // Lights only: no broker is needed for BLE devices.
            await using SimulatedFleet simulated = SimulatedFleet.Start(lights, "127.0.0.1", 1, state, TextWriter.Null);
            var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort.Next());
            using var server = new ControlServer(simulated, Districts.Value, endpoint);
            using var stop = new CancellationTokenSource();
            Task serving = server.RunAsync(stop.Token);
            using var http = new HttpClient { BaseAddress = new Uri("http://" + endpoint + "/") };

            LightStatus[] all = (await http.GetFromJsonAsync<LightStatus[]>("lights", SimJson.Options))!;
            Assert.Equal(lights.Select(l => l.DeviceId), all.Select(l => l.Id));
            Assert.Empty((await http.GetFromJsonAsync<BellStatus[]>("devices", SimJson.Options))!);

            string id = lights[0].DeviceId;
            using HttpResponseMessage walk = await http.PostAsync("lights/" + id + "/escort?seconds=30", null);
            Assert.Equal(HttpStatusCode.Accepted, walk.StatusCode);
            LightStatus status = await Eventually(http, id, s => s.Mode == "escort" && s.Level > 90);
            Assert.True(status.EscortAdvertsAccepted > 0);
            Assert.True(status.BeaconsSent > 0);
            Assert.Equal(0, status.Rejected.Forged);

            using HttpResponseMessage bad = await http.PostAsync("lights/" + id + "/escort?seconds=0", null);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            using HttpResponseMessage unknown = await http.GetAsync("lights/00000000");
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            using HttpResponseMessage broken = await http.PostAsync("lights/" + id + "/lamp?broken=true", null);
            Assert.Equal(HttpStatusCode.Accepted, broken.StatusCode);
            Assert.True((await http.GetFromJsonAsync<LightStatus>("lights/" + id, SimJson.Options))!.LampBroken);

            await stop.CancelAsync();
            await serving;
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<LightStatus> Eventually(HttpClient http, string id, Func<LightStatus, bool> condition)
    {
        LightStatus? last = null;
        for (int i = 0; i < 100; i++)
        {
            last = await http.GetFromJsonAsync<LightStatus>("lights/" + id, SimJson.Options);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        Assert.Fail("light " + id + " never got there; last status: " + last);
        return last!;
    }
}
