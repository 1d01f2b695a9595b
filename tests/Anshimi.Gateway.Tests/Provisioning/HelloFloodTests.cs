using System.Globalization;
using System.Security.Cryptography;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Host;
using Anshimi.Gateway.Provisioning;
using Anshimi.Installer;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// Anonymous hello floods on a real Mosquitto: hellos for ever-new ids fill the bounded board and are dropped as
/// <c>board_full</c>, hellos posing as a listed device are dropped as <c>rate_limited</c> or <c>conflict</c>, the
/// provisioning listener refuses connections beyond its bound — and a real claim still succeeds meanwhile.
/// </summary>
[Trait("Category", "Protocol")]
[Trait("Category", "Privacy")]
[Trait("Category", "Integration")]
public sealed class HelloFloodTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_hello_flood_is_bounded_and_counted_while_a_real_claim_succeeds()
    {
        FactoryIdentity genuine = ProvisioningRig.NewIdentity(0x0000B0C1);
        Task<SimulatedFleet> device = _rig.PowerOn(genuine);
        await _rig.WaitForHelloAsync(genuine);

        await using MqttSession flooder = MqttSession.Create(MqttLink.AnonymousOptions(BrokerListeners.UnclaimedClientId("flood"), _rig.Broker.Host, _rig.Broker.ProvisioningPort));
        await flooder.ConnectAsync(CancellationToken.None);
        var codec = new ProvisioningCodec(new PlatformHmacSha256());
        using var stop = new CancellationTokenSource();
        long sent = 0;
        Task flood = Task.Run(async () =>
        {
            for (uint i = 0; !stop.IsCancellationRequested; i++)
            {
                uint id = i % 2 == 0 ? 0x00F00000 + i : genuine.DeviceId;
                byte[] hello = codec.EncodeHello(
                    new HelloMessage(id, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(32), "home", "9.9." + (i % 100).ToString(CultureInfo.InvariantCulture)),
                    RandomNumberGenerator.GetBytes(32));
                await flooder.PublishAsync(Topics.ProvisioningHello(id), hello, MqttQos.AtMostOnce, retain: false, CancellationToken.None);
                Interlocked.Increment(ref sent);
            }
        });

        string metrics = "";
        await _rig.WaitForAsync(
            () =>
            {
                metrics = _rig.MetricsAsync().GetAwaiter().GetResult();
                return Dropped(metrics, ProvisioningMetrics.BoardFull) > 50 && Dropped(metrics, ProvisioningMetrics.RateLimited) + Dropped(metrics, ProvisioningMetrics.Conflict) > 50;
            },
            "the flood dropped as board_full and rate_limited or conflict");

        // The provisioning listener takes only so many anonymous connections at once.
        var extra = new List<MqttSession>();
        int refused = 0;
        try
        {
            for (int i = 0; i < BrokerListeners.MaxUnclaimedConnections + 2; i++)
            {
                MqttSession session = MqttSession.Create(MqttLink.AnonymousOptions(BrokerListeners.UnclaimedClientId("extra" + i.ToString(CultureInfo.InvariantCulture)), _rig.Broker.Host, _rig.Broker.ProvisioningPort));
                extra.Add(session);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await session.ConnectAsync(timeout.Token);
                }
                catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
                {
                    refused++;
                }
            }

            // The bound is the provisioning listener's alone: accounts still connect while it is full.
            await using RunningProcess account = await _rig.SubscribeAsync("probe", _rig.ProbePassword, Topics.Root + "/d/+/up");
            Assert.Contains(account.OutputLines, l => l.Contains("Subscribed (mid", StringComparison.Ordinal));
        }
        finally
        {
            foreach (MqttSession session in extra)
            {
                await session.DisposeAsync();
            }
        }

        // Beside the device and the flooder, at most the bound minus those two got in.
        Assert.InRange(refused, 4, BrokerListeners.MaxUnclaimedConnections + 2);

        // The flood goes on, and the label still claims the device.
        InstallerRun claim = await _rig.InstallerAsync("claim", genuine.DeviceIdText, "--code", genuine.LabelPayload, "--timeout", "60");
        bool floodStillRunning = !flood.IsCompleted;
        await stop.CancelAsync();
        await flood;
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        Assert.True(floodStillRunning);
        await device.WaitAsync(Patience);
        Assert.Contains(await _rig.Get<Anshimi.Gateway.Storage.DeviceLifecycle>().ListAsync(CancellationToken.None), row => row.DeviceId == genuine.DeviceIdText);
        Assert.InRange(_rig.Get<HelloBoard>().Current().Count, 0, new ProvisioningOptions().MaxUnclaimed);
    }

    private static long Dropped(string metrics, string reason) =>
        Prometheus.Value(metrics, "anshimi_gateway_provisioning_dropped_total{reason=\"" + reason + "\"}", absent: 0);
}
