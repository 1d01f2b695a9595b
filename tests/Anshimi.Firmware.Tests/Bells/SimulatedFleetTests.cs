using System.Security.Cryptography;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Geo;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>
/// anshimi-sim runs every bell profile: a mixed fleet against a real Mosquitto, BLE bells on the in-process air, every
/// frame sealed in version 2 (protocol/README.md §10).
/// </summary>
public sealed class SimulatedFleetTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    [Fact]
    public void Fleet_with_profiles_takes_turns_and_refuses_unknown_profiles()
    {
        FleetFile fleet = FleetGenerator.Generate(8, "gw", Districts.Value, seed: 3, profiles: ["home", "shop", "voice", "battery"]);
        Assert.Equal(["home", "shop", "voice", "battery", "home", "shop", "voice", "battery"], fleet.Devices.Select(d => d.Profile));
        Assert.Equal("shop", fleet.Devices[1].Site.Kind);
        Assert.Throws<ArgumentException>(() => FleetGenerator.Generate(2, "gw", Districts.Value, seed: 3, profiles: ["home", "kiosk"]));
        Assert.Throws<ArgumentException>(() => FleetGenerator.Generate(2, "gw", Districts.Value, seed: 3, profiles: []));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Mixed_fleet_raises_each_profiles_events_over_mqtt_and_ble()
    {
        FleetFile fleet = FleetGenerator.Generate(4, "gw-test", Districts.Value, seed: 11, profiles: ["home", "shop", "voice", "battery"]);
        var gateway = new ServiceUser("gateway", Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        var options = new MosquittoBrokerOptions();
        foreach (DeviceRecord d in fleet.Devices)
        {
            options.Users[d.DeviceId] = d.MqttPassword;
        }

        options.Users[gateway.Name] = gateway.Password;
        foreach (string line in BrokerAuth.AclText(fleet.GatewayId, [gateway]).Split('\n'))
        {
            options.AclLines.Add(line);
        }

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(options);
        await using MqttSession listener = MqttSession.Create(broker.ClientOptions(gateway.Name));
        var uplinks = new EventRecorder<Frame>();
        listener.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, (e, _) =>
        {
            DeviceRecord? from = fleet.Devices.FirstOrDefault(d => e.Topic == Topics.DeviceUplink(d.NumericId));
            FrameReadResult read = from is null ? FrameReadResult.Fail(FrameError.UnknownDevice) : Open(e.Payload, 0, e.Payload.Length, from);
            if (read.IsOk)
            {
                uplinks.Add(read.Frame!);
            }

            return Task.CompletedTask;
        });
        await listener.ConnectAsync(CancellationToken.None);

        string state = Directory.CreateTempSubdirectory("sim-state-").FullName;
        try
        {
            await using SimulatedFleet simulated = SimulatedFleet.Start(fleet.Devices, broker.Host, broker.Port, state, TextWriter.Null, c => c.TamperDebounceMs = 100);
            var heard = new EventRecorder<byte[]>();
            simulated.Air.Listen((_, data, length) => heard.Add(data.AsSpan(0, length).ToArray()));
            SimulatedDevice home = simulated.Devices[0], shop = simulated.Devices[1], voice = simulated.Devices[2], battery = simulated.Devices[3];
            Assert.Null(battery.Link);

            await uplinks.WaitForAsync(f => f.Type == FrameType.Heartbeat && f.DeviceId == home.Record.NumericId, Wait);
            home.SetTamper(true);
            await uplinks.WaitForAsync(f => f.DeviceId == home.Record.NumericId && f.EventCode == ContactIdCode.Tamper && f.Qualifier == ContactIdQualifier.NewEvent, Wait);

            shop.AuxButton.Press(2000);
            await uplinks.WaitForAsync(f => f.DeviceId == shop.Record.NumericId && f.EventCode == ContactIdCode.SilentPanic, Wait);
            Assert.All(shop.Led.History, change => Assert.Equal(LedState.Idle, change.State));

            voice.Speak(BellProfiles.KeywordHelp);
            Frame spoken = await uplinks.WaitForAsync(f => f.DeviceId == voice.Record.NumericId && f.EventCode == ContactIdCode.Panic, Wait);
            Assert.Equal(2, spoken.Zone);

            battery.Press(2000);
            byte[] advertisement = await heard.WaitForAsync(adv => IsAlarmFrom(adv, battery.Record), Wait);
            Assert.Equal(31, advertisement.Length);
            Assert.Equal("battery", battery.Status(null).Profile);
            Assert.False(battery.HasMainsSense);

            // The control API the CLI commands use: cut mains on the home bell, refuse what a board lacks.
            var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, FreePort.Next());
            using var server = new ControlServer(simulated, null, endpoint);
            using var stop = new CancellationTokenSource();
            Task serving = server.RunAsync(stop.Token);
            using var http = new HttpClient { BaseAddress = new Uri("http://" + endpoint + "/") };
            string homeId = home.Record.DeviceId;
            Assert.Equal(System.Net.HttpStatusCode.Accepted, (await http.PostAsync("devices/" + homeId + "/mains?on=false", null)).StatusCode);
            await uplinks.WaitForAsync(f => f.DeviceId == home.Record.NumericId && f.EventCode == ContactIdCode.AcLoss, Wait);
            Assert.Equal(System.Net.HttpStatusCode.Conflict, (await http.PostAsync("devices/" + homeId + "/speak?command=5", null)).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.Conflict, (await http.PostAsync("devices/" + battery.Record.DeviceId + "/mains?on=false", null)).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.PostAsync("devices/" + homeId + "/battery?percent=101", null)).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, (await http.PostAsync("devices/" + battery.Record.DeviceId + "/tamper?open=true", null)).StatusCode);
            await heard.WaitForAsync(adv => IsEventFrom(adv, battery.Record, ContactIdCode.Tamper), Wait);
            await stop.CancelAsync();
            await serving;
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static bool IsAlarmFrom(byte[] adv, DeviceRecord device) => IsEventFrom(adv, device, ContactIdCode.Panic);

    private static bool IsEventFrom(byte[] adv, DeviceRecord device, ushort code)
    {
        if (!BleAdvertisement.TryFindFrame(adv, 0, adv.Length, out int offset, out int length))
        {
            return false;
        }

        FrameReadResult read = Open(adv, offset, length, device);
        return read.IsOk && read.Frame!.Type == FrameType.Alarm && read.Frame.EventCode == code;
    }

    /// <summary>A sealed uplink of <paramref name="device"/>, opened as its gateway does; anything else (a version-1 frame included) fails.</summary>
    private static FrameReadResult Open(byte[] data, int offset, int length, DeviceRecord device)
    {
        byte[] frame = data.AsSpan(offset, length).ToArray();
        return new FrameCodecV2(new HmacSha256()).Decode(frame, 0, frame.Length, FrameDirectionBit.Uplink, device.NumericId, new FrameKeySet(new HmacSha256(), device.Key, 0));
    }
}
