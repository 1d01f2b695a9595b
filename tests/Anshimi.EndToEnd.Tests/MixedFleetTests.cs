using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// anshimi-sim's whole range at once against real Mosquitto and one gateway: bells of every profile, a smart
/// doorbell and streetlights, each raising what it raises through its own path (MQTT, or BLE in the gateway's
/// airspace) to the right district's control center.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class MixedFleetTests(ITestOutputHelper output)
{
    private const int Streetlights = 3;

    [Fact]
    public async Task Every_device_type_reaches_the_control_center_through_its_own_path()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        string[] profiles = [BellProfiles.Home, BellProfiles.Shop, BellProfiles.Voice, BellProfiles.Battery, SimulatedDoorbell.Profile];
        var options = new AnshimiSystemOptions { DeviceCount = profiles.Length, Profiles = profiles, Streetlights = Streetlights, BleAirspace = true };
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, TextWriter.Synchronized(log), ct);
            SimulatedDevice Bell(string profile) => fleet.Devices.Single(d => d.Record.Profile == profile);
            SimulatedDoorbell doorbell = Assert.Single(fleet.Doorbells);
            Assert.Equal(Streetlights, fleet.Lights.Count);

            // Home: the deliberate long press. Shop: the silent button under the counter. Voice: the agreed code word.
            // Battery: a press that wakes it from deep sleep and goes out as BLE bursts. Doorbell: the inside button.
            Bell(BellProfiles.Home).Press(400);
            Bell(BellProfiles.Shop).AuxButton.Press(400);
            Bell(BellProfiles.Voice).Speak(6);
            Bell(BellProfiles.Battery).Press(400);
            doorbell.Parts.Emergency.Press(2000);

            (string DeviceId, int Code)[] expected =
            [
                (Bell(BellProfiles.Home).Record.DeviceId, ContactIdCode.Panic),
                (Bell(BellProfiles.Shop).Record.DeviceId, ContactIdCode.SilentPanic),
                (Bell(BellProfiles.Voice).Record.DeviceId, ContactIdCode.Duress),
                (Bell(BellProfiles.Battery).Record.DeviceId, ContactIdCode.Panic),
                (doorbell.Record.DeviceId, ContactIdCode.Panic),
            ];
            foreach ((string deviceId, int code) in expected)
            {
                JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, deviceId, TimeSpan.FromSeconds(60), ct);
                Assert.Equal(code, alarm.GetProperty("event").GetProperty("code").GetInt32());
                Assert.Equal(system.Fleet.Devices.Single(d => d.DeviceId == deviceId).DistrictCode, alarm.GetProperty("district").GetProperty("code").GetString());
            }

            Assert.Equal(expected.Length, (await system.CloudAlarmsAsync(ct)).Length);

            // The silent alarm gives the person pressing it no sign at all, even once the gateway has it.
            Assert.Equal(LedState.Idle, Bell(BellProfiles.Shop).Bell.LedState);

            // The streetlights speak only BLE: the gateway hears every one's signed status beacon and records it as seen.
            uint[] lights = [.. fleet.Lights.Select(l => l.Record.NumericId)];
            await Fleet.Until(() => lights.All(id => LastSeen(system, id) is not null), TimeSpan.FromSeconds(30), "every streetlight seen by the gateway", ct);
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    /// <summary>When the gateway's registry last heard the device (it writes heartbeats and beacons in batches).</summary>
    private static long? LastSeen(AnshimiSystem system, uint deviceId)
    {
        using var connection = new SqliteConnection("Data Source=" + Path.Combine(system.Directory, "gateway", "gateway.db") + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT last_seen FROM devices WHERE id = $id;";
        command.Parameters.AddWithValue("$id", (long)deviceId);
        return command.ExecuteScalar() is long seen ? seen : null;
    }
}
