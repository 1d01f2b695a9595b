using System.Collections.Concurrent;
using System.Text;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Firmware.Tests.Provisioning;

/// <summary>
/// An unclaimed bell on the host link (<see cref="MqttLink"/> over the real <see cref="MqttSession"/>) whose broker answers
/// each SUBSCRIBE later than the bell's wait: it must still get its credentials topic subscribed and say hello, since it
/// keeps saying hello until claimed. The link's connection is a fake with a 3 s SUBACK; nothing else is simulated.
/// </summary>
public sealed class SlowLinkHelloTests
{
    private const uint DeviceId = 0x0000B0F1;

    [Fact]
    public async Task A_bell_whose_SUBACK_comes_after_its_wait_still_subscribes_once_and_says_hello()
    {
        var transport = new SlowSubackTransport(TimeSpan.FromSeconds(3));
        var session = new MqttSession(transport, MqttLink.AnonymousOptions("anshimi/prov/0000B0F1", "box", 1884));
        await using var link = new MqttLink(session, DeviceId, announcesStatus: false);
        var config = new ProvisioningConfig(DeviceId, Encoding.ASCII.GetBytes("ABCDEFGHJKMNPQRS"), new byte[32], "home", "1.0.0");
        Assert.True(config.PublishTimeoutMs < 3000, "the wait must be shorter than the SUBACK for this test to mean anything");
        var provisioning = new DeviceProvisioning(config, new SystemClock(), new MemoryDeviceStorage(), link, new AesGcmProvisioningCipher(), new PlatformHmacSha256(), new SystemSecureRandom());
        link.Start();

        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (provisioning.HellosSent == 0 && DateTime.UtcNow < deadline)
        {
            provisioning.Tick();
            await Task.Delay(100);
        }

        Assert.True(provisioning.HellosSent > 0, "no hello in 20 s; SUBSCRIBEs sent: " + transport.Subscribes.Count);
        Assert.Equal([Topics.ProvisioningCredentials(DeviceId)], transport.Subscribes);
        Assert.Contains(Topics.ProvisioningHello(DeviceId), transport.Published);
    }

    /// <summary>Connects at once and answers every SUBSCRIBE after a fixed delay, as over a slow link.</summary>
    private sealed class SlowSubackTransport(TimeSpan subackDelay) : IMqttTransport
    {
        public ConcurrentQueue<string> Subscribes { get; } = new();

        public ConcurrentQueue<string> Published { get; } = new();

        // This connection is never lost.
        public event EventHandler<string>? ConnectionLost
        {
            add { }
            remove { }
        }

        public bool IsConnected { get; private set; }

        public Func<MqttMessage, Task>? MessageReceived { get; set; }

        public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
        {
            IsConnected = true;
            return Task.FromResult(false);
        }

        public async Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
        {
            Subscribes.Enqueue(topicFilter);
            await Task.Delay(subackDelay, cancellationToken);
        }

        public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
        {
            Published.Enqueue(topic);
            return Task.CompletedTask;
        }

        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            IsConnected = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
