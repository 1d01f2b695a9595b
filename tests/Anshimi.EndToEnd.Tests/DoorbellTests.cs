using System.Security.Cryptography;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

[Trait("Category", "EndToEnd")]
public sealed class DoorbellTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Privacy")]
    public async Task A_loitering_visitor_reaches_the_cloud_as_an_alarm_in_its_district_with_the_doorbell_snapshot()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = 2, Profiles = [SimulatedDoorbell.Profile] }, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = SimulatedFleet.Start(
                system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "doorbells"), TextWriter.Synchronized(log), configureDoorbell: Fleet.FastDoorbellTimings);
            await Fleet.Until(() => fleet.Doorbells.Count == 2 && fleet.Doorbells.All(d => d.Link.IsConnected), TimeSpan.FromSeconds(60), "every doorbell connected", ct);
            SimulatedDoorbell doorbell = fleet.Doorbells[1];

            // A ring is the visitor announcing themselves: it chimes and stays at the home's gateway.
            fleet.Doorbells[0].Parts.Ring.Press(200);
            doorbell.Parts.Pir.StartMotion();

            JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, doorbell.Record.DeviceId, TimeSpan.FromSeconds(60), ct);

            Assert.Equal(ContactIdCode.Loitering, alarm.GetProperty("event").GetProperty("code").GetInt32());
            Assert.Equal(1, alarm.GetProperty("event").GetProperty("qualifier").GetInt32());
            Assert.Equal(doorbell.Record.DistrictCode, alarm.GetProperty("district").GetProperty("code").GetString());
            string key = alarm.GetProperty("key").GetString()!;

            byte[]? stored = null;
            await Fleet.Until(() => (stored = CloudSnapshot(system, key)) is not null, TimeSpan.FromSeconds(60), "the snapshot stored in the cloud", ct);
            Assert.Equal(doorbell.Parts.Camera.Images[0], stored);

            // What the console shows is a picture, not bytes in a JPEG frame: it decodes at the camera's size.
            using (var decoded = new BitMiracle.LibJpeg.JpegImage(new MemoryStream(stored!)))
            {
                Assert.Equal((SimulatedCamera.DefaultWidth, SimulatedCamera.DefaultHeight), (decoded.Width, decoded.Height));
                Assert.Equal(3, decoded.ComponentsPerSample);
            }

            await Fleet.Until(() => doorbell.Doorbell.SnapshotsDelivered == 1 && doorbell.Doorbell.PendingSnapshotCount == 0, TimeSpan.FromSeconds(30), "the doorbell heard the stage-4 ack", ct);

            // The ring chimed and its picture reached the gateway, but neither left it.
            SimulatedDoorbell rung = fleet.Doorbells[0];
            await Fleet.Until(() => rung.Doorbell.SnapshotsDelivered == 1, TimeSpan.FromSeconds(30), "the ring's snapshot confirmed by the gateway", ct);
            Assert.Equal(1, rung.Doorbell.ChimePlays);
            Assert.DoesNotContain(await system.CloudAlarmsAsync(ct), a => a.GetProperty("deviceId").GetString() == rung.Record.DeviceId);
            Assert.Equal([key], CloudSnapshotKeys(system));
            Assert.Single(await system.CloudAlarmsAsync(ct));
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    private static List<string> CloudSnapshotKeys(AnshimiSystem system)
    {
        using var connection = new SqliteConnection("Data Source=" + Path.Combine(system.Directory, "cloud", "snapshots.db") + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT key FROM snapshots ORDER BY key;";
        using SqliteDataReader reader = command.ExecuteReader();
        var keys = new List<string>();
        while (reader.Read())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <summary>The image the cloud bridge stored for <paramref name="key"/>, checked against its own hash; null while absent.</summary>
    private static byte[]? CloudSnapshot(AnshimiSystem system, string key)
    {
        string path = Path.Combine(system.Directory, "cloud", "snapshots.db");
        if (!File.Exists(path))
        {
            return null;
        }

        using var connection = new SqliteConnection("Data Source=" + path + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT data, sha256 FROM snapshots WHERE key = $key;";
        command.Parameters.AddWithValue("$key", key);
        using SqliteDataReader reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        byte[] data = (byte[])reader[0];
        Assert.Equal(reader.GetString(1), Convert.ToHexStringLower(SHA256.HashData(data)));
        return data;
    }
}
