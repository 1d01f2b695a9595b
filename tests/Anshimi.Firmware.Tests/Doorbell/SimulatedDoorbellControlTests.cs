using System.Net;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests.Doorbell;

/// <summary>anshimi-sim with a doorbell fleet: the control API drives ring, motion and the emergency button.</summary>
public sealed class SimulatedDoorbellControlTests
{
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    [Fact]
    public void A_doorbell_fleet_has_doorbells_placed_in_homes_of_their_districts()
    {
        FleetFile fleet = FleetGenerator.Generate(4, "gw", Districts.Value, seed: 3, profiles: [SimulatedDoorbell.Profile]);
        Assert.All(fleet.Devices, d =>
        {
            Assert.Equal("doorbell", d.Profile);
            Assert.Equal("home", d.Site.Kind);
            Assert.Equal(d.DistrictCode, Districts.Value.Locate(d.Site.Latitude, d.Site.Longitude)?.Code);
        });
    }

    [Fact]
    public async Task The_control_api_rings_starts_motion_and_presses_the_emergency_button()
    {
        FleetFile fleet = FleetGenerator.Generate(2, "gw", Districts.Value, seed: 5, profiles: [SimulatedDoorbell.Profile]);
        string state = Directory.CreateTempSubdirectory("doorbell-sim-").FullName;
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort.Next());
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            // No broker at that port: the doorbells run offline, as a device does when its gateway is down.
            await using SimulatedFleet simulated = SimulatedFleet.Start(fleet.Devices, "127.0.0.1", FreePort.Next(), state, TextWriter.Null);
            using var server = new ControlServer(simulated, Districts.Value, endpoint);
            Task serving = server.RunAsync(cts.Token);
            using var http = new HttpClient { BaseAddress = new Uri("http://" + endpoint + "/") };
            SimulatedDoorbell doorbell = Assert.Single(simulated.Doorbells, d => d.Record.DeviceId == fleet.Devices[0].DeviceId);
            string id = doorbell.Record.DeviceId;

            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("devices/" + id + "/ring", null)).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("devices/" + id + "/motion?state=start", null)).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("devices/" + id + "/motion?state=sideways", null)).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("devices/" + id + "/emergency?holdMs=1600", null)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("devices/" + id + "/dance", null)).StatusCode);

            // The LED follows later in the tick that raised the events.
            await Until(() => doorbell.Doorbell.Rings == 1 && doorbell.Doorbell.EmergencyCounter != 0 && Anshimi.Firmware.Hal.LedStateName.Of(doorbell.Doorbell.LedState) == "sending", cts.Token);
            Assert.Equal(2, doorbell.Doorbell.EventsRaised);
            Assert.True(doorbell.Parts.Pir.Motion);
            Assert.Equal(1, doorbell.Doorbell.ChimePlays);

            using JsonDocument all = JsonDocument.Parse(await http.GetStringAsync("devices"));
            JsonElement status = all.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
            Assert.Equal("doorbell", status.GetProperty("profile").GetString());
            Assert.True(status.GetProperty("motion").GetBoolean());
            Assert.Equal(2, status.GetProperty("pendingAlarms").GetInt32());
            Assert.Equal(2, status.GetProperty("pendingSnapshots").GetInt32());
            Assert.Equal("sending", status.GetProperty("led").GetString());
            await cts.CancelAsync();
            await serving;
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task Until(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
