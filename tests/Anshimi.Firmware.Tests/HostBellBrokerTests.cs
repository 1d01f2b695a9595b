using System.Security.Cryptography;
using System.Text;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

[Trait("Category", "Integration")]
public sealed class HostBellBrokerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Host_bell_publishes_the_exact_alarm_frame_and_shows_the_gateway_ack()
    {
        var device = new DeviceRecord(
            "0A1B2C3D",
            Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            "home",
            new SiteInfo("home", 37.5, 127.0, "test"),
            "11680");
        var gateway = new ServiceUser("gateway", Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        var options = new MosquittoBrokerOptions();
        options.Users[device.DeviceId] = device.MqttPassword;
        options.Users[gateway.Name] = gateway.Password;
        foreach (string line in BrokerAuth.AclText("gw-test", [gateway]).Split('\n'))
        {
            options.AclLines.Add(line);
        }

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(options);

        // The gateway's side: a plain client on the device topics.
        await using MqttSession listener = MqttSession.Create(broker.ClientOptions(gateway.Name));
        var received = new EventRecorder<MqttMessage>();
        MqttSubscriptionHandler record = (message, _) =>
        {
            received.Add(message);
            return Task.CompletedTask;
        };
        listener.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, record);
        listener.AddSubscription(Topics.DeviceStatus(device.NumericId), MqttQos.AtLeastOnce, record);
        await listener.ConnectAsync(CancellationToken.None);

        var clock = new SystemClock();
        var button = new SimulatedButton(clock);
        var led = new SimulatedLed(clock);
        var storage = new MemoryDeviceStorage();
        await using var link = new MqttLink(MqttSession.Create(MqttLink.OptionsFor(device, broker.Host, broker.Port)), device.NumericId);
        var bell = new PanicBell(new BellConfig(device.NumericId, device.Key), clock, button, led, storage, link, new PlatformHmacSha256(), new SeededRandom(1));
        using var host = new BellHost(bell);
        link.Start();
        host.Start();

        await received.WaitForAsync(m => m.Topic == Topics.DeviceStatus(device.NumericId) && Encoding.ASCII.GetString(m.Payload) == "online", Wait);
        button.Press(1700);
        // A new bell speaks version 2: its alarm is known only by opening it under the device's keys.
        var codec = new FrameCodecV2(new PlatformHmacSha256());
        var keys = new FrameKeySet(new PlatformHmacSha256(), device.Key, 0);
        MqttMessage alarm = await received.WaitForAsync(
            m => m.Topic == Topics.DeviceUplink(device.NumericId)
                && codec.Decode(m.Payload, 0, m.Payload.Length, FrameDirectionBit.Uplink, device.NumericId, keys).Frame?.Type == FrameType.Alarm,
            Wait);

        uint counter = bell.NewestAlarmCounter;
        byte[] expected = codec.Encode(Frame.Alarm(device.NumericId, counter, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), keys);
        Assert.Equal(expected, alarm.Payload);
        Assert.Equal(MqttQos.AtLeastOnce, alarm.Qos);

        byte[] ack = codec.Encode(Frame.Ack(device.NumericId, 1, counter, AckStage.Received), keys);
        await listener.PublishAsync(Topics.DeviceDownlink(device.NumericId), ack, MqttQos.AtLeastOnce, false, CancellationToken.None);
        await WaitUntilAsync(() => bell.LedState == LedState.ReceivedByGateway && bell.PendingAlarmCount == 0);
        Assert.Equal(1, bell.Downlinks.AcksAccepted);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
