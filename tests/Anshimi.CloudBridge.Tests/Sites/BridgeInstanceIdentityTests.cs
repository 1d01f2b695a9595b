using System.Collections.Concurrent;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Tests.Sites;

/// <summary>
/// Two bridge instances on the deployed Mosquitto endpoint (the configuration and ACL <c>endpoint config</c> writes), each
/// with its own identity from <c>bridges issue</c>: both stay connected side by side in one share group, and a gateway's
/// alarms are each stored and answered once.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Sites")]
public sealed class BridgeInstanceIdentityTests : IAsyncLifetime
{
    private const string GatewayId = "gw-ha-01";

    private readonly ConcurrentQueue<Envelope> _commands = new();
    private TestStorage _storage = null!;
    private CloudEndpoint _endpoint = null!;
    private MqttSession _gateway = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);
        _endpoint = await CloudEndpoint.StartAsync(cts.Token, bridgeInstances: ["a", "b"]);
        string credentials = await _endpoint.IssueAsync(GatewayId, cts.Token);
        _gateway = MqttSession.Create(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = _endpoint.Broker.Port,
            ClientId = BrokerListeners.AccountClientId("gateway-" + GatewayId),
            TlsCaFile = Path.Combine(credentials, "ca.crt"),
            TlsClientCertificateFile = Path.Combine(credentials, "gateway.crt"),
            TlsClientKeyFile = Path.Combine(credentials, "gateway.key"),
        });
        _gateway.AddSubscription(TestAlarms.CommandsTopic(GatewayId), MqttQos.AtLeastOnce, (message, _) =>
        {
            if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
            {
                _commands.Enqueue(envelope!);
            }

            return Task.CompletedTask;
        });
        await _gateway.ConnectAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _endpoint.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task Two_instances_with_their_own_certificates_stay_connected_and_handle_each_envelope_once()
    {
        await using CloudBridgeHost a = await StartInstanceAsync("a");
        await using CloudBridgeHost b = await StartInstanceAsync("b");

        // Each takes its instance and its client id from its certificate.
        Assert.Equal("a", a.Services.GetRequiredService<IOptions<CloudBridgeOptions>>().Value.InstanceId);
        Assert.Equal("anshimi/cloud-bridge-b", b.Services.GetRequiredService<IOptions<MqttClientOptions>>().Value.ClientId);
        var drops = new ConcurrentQueue<string>();
        foreach ((string name, CloudBridgeHost host) in new[] { ("a", a), ("b", b) })
        {
            host.Services.GetRequiredService<MqttSession>().StateChanged += (_, e) =>
            {
                if (e.State != MqttConnectionState.Connected)
                {
                    drops.Enqueue(name + " " + e.State);
                }
            };
        }

        const int Alarms = 12;
        List<AlarmEnvelope> alarms = [.. Enumerable.Range(1, Alarms).Select(i => TestAlarms.Alarm(0x3300 + (uint)i, 1, TestAlarms.SeoulCityHall, GatewayId))];
        foreach (AlarmEnvelope alarm in alarms)
        {
            await PublishAsync(TestAlarms.BindingOf(alarm));
        }

        await Eventually.HoldsAsync(async () =>
        {
            for (uint i = 1; i <= Alarms; i++)
            {
                if (await b.Bindings.FindAsync(0x3300 + i, CancellationToken.None) is null)
                {
                    return false;
                }
            }

            return true;
        }, "every device bound");

        foreach (AlarmEnvelope alarm in alarms)
        {
            await PublishAsync(alarm);
        }

        await Eventually.HoldsAsync(() => alarms.All(alarm => Receipts(alarm.Key) >= 1), "a receipt for every alarm", TimeSpan.FromSeconds(30));
        await Task.Delay(1000);
        Assert.All(alarms, alarm => Assert.Equal(1, Receipts(alarm.Key)));
        Assert.Equal(Alarms, await a.Store.CountAsync(CancellationToken.None));
        Assert.Equal(Alarms, a.Statistics.AlarmsStored + b.Statistics.AlarmsStored);
        Assert.True(a.Statistics.AlarmsStored > 0 && b.Statistics.AlarmsStored > 0,
            $"the share group split nothing: a stored {a.Statistics.AlarmsStored}, b {b.Statistics.AlarmsStored}");

        // Neither took the other's session over.
        Assert.Empty(drops);
        Assert.Equal(MqttConnectionState.Connected, a.Services.GetRequiredService<MqttSession>().State);
        Assert.Equal(MqttConnectionState.Connected, b.Services.GetRequiredService<MqttSession>().State);
        Assert.DoesNotContain("already connected", _endpoint.Broker.ReadLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instance_whose_configured_id_differs_from_its_certificate_refuses_to_start()
    {
        IDictionary<string, string?> settings = Settings("a");
        settings["CloudBridge:InstanceId"] = "b";
        var refusal = await Assert.ThrowsAsync<OptionsValidationException>(() => CloudBridgeHost.StartAsync(settings: settings));
        Assert.Contains("CloudBridge:InstanceId", refusal.Message, StringComparison.Ordinal);
    }

    private IDictionary<string, string?> Settings(string instance)
    {
        IDictionary<string, string?> settings = _storage.Settings;
        settings["CloudBridge:IngressShareGroup"] = "bridges";
        foreach ((string key, string value) in _endpoint.BridgeEnvironment(instance))
        {
            settings[key.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        return settings;
    }

    private Task<CloudBridgeHost> StartInstanceAsync(string instance) => CloudBridgeHost.StartAsync(settings: Settings(instance));

    private Task PublishAsync(Envelope envelope) =>
        _gateway.PublishAsync(TestAlarms.EventsTopic(GatewayId), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);

    private int Receipts(string key) => _commands.OfType<AlarmReceiptEnvelope>().Count(r => r.Key == key);
}
