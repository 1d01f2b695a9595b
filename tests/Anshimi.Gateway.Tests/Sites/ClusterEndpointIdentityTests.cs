using System.Text;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>
/// The clustered cloud endpoint (three RabbitMQ nodes) on TLS with the site CA's certificates: the certificate's CN is
/// the identity, and each gateway may publish only its own events and status and read only its own commands, as on
/// the Mosquitto endpoint (docs/high-availability.md); the configuration, definitions and users are the cloud bridge's own
/// commands' (<see cref="CloudEndpointCluster"/>), and a revoked gateway is cut off at once.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Sites")]
public sealed class ClusterEndpointIdentityTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_gateway_certificate_reaches_the_cluster_over_TLS_and_only_its_own_topics()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        CancellationToken ct = cts.Token;
        await using CloudEndpointCluster endpoint = await CloudEndpointCluster.StartAsync([], ct);
        RabbitMqCluster cluster = endpoint.Cluster;

        // Issued while the cluster runs: each gateway's user joins it at once.
        string gwA = await endpoint.IssueAsync("gw-a", ct);
        await endpoint.IssueAsync("gw-b", ct);

        var received = new EventRecorder<string>();
        await using MqttSession bridge = MqttSession.Create(cluster.ClientOptions(CloudBridgeExtensions.DefaultClientId));
        await bridge.ConnectAsync(ct);
        await bridge.SubscribeAsync("anshimi/v1/gw/+/events", MqttQos.AtLeastOnce, (message, _) =>
        {
            received.Add(message.Topic + " " + Encoding.UTF8.GetString(message.Payload));
            return Task.CompletedTask;
        }, ct);

        await using MqttSession gateway = MqttSession.Create(endpoint.GatewayClientOptions("gw-a", gwA, BrokerListeners.AccountClientId("gateway-gw-a"), firstNode: 1));
        await gateway.ConnectAsync(ct);
        await gateway.SubscribeAsync("anshimi/v1/gw/gw-a/commands", MqttQos.AtLeastOnce, (_, _) => Task.CompletedTask, ct);
        await gateway.PublishAsync("anshimi/v1/gw/gw-a/events", "own"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, ct);
        await received.WaitForAsync(text => text == "anshimi/v1/gw/gw-a/events own", Wait, cancellationToken: ct);

        // Another gateway's topics: the publish and the subscription are refused, and the node closes the connection
        // (the session comes back by itself).
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        gateway.StateChanged += (_, e) => states.Add(e);
        await Assert.ThrowsAnyAsync<MqttTransportException>(() => gateway.PublishAsync("anshimi/v1/gw/gw-b/events", "forged"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, ct));
        await states.WaitForAsync(e => e.State == MqttConnectionState.Connected, Wait, cancellationToken: ct);
        int mark = states.Items.Count;
        await Assert.ThrowsAnyAsync<MqttTransportException>(() => gateway.SubscribeAsync("anshimi/v1/gw/gw-b/commands", MqttQos.AtLeastOnce, (_, _) => Task.CompletedTask, ct));
        await states.WaitForAsync(e => e.State == MqttConnectionState.Connected, Wait, mark, ct);
        await gateway.PublishAsync("anshimi/v1/gw/gw-a/events", "after"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, ct);
        await received.WaitForAsync(text => text == "anshimi/v1/gw/gw-a/events after", Wait, cancellationToken: ct);
        Assert.DoesNotContain(received.Items, text => text.Contains("forged", StringComparison.Ordinal));

        // No certificate, no connection.
        MqttClientOptions anonymous = cluster.ClientOptions("anshimi/anonymous");
        anonymous.TlsClientCertificateFile = null;
        anonymous.TlsClientKeyFile = null;
        anonymous.ConnectTimeout = TimeSpan.FromSeconds(3);
        await using MqttSession stranger = MqttSession.Create(anonymous);
        await Assert.ThrowsAnyAsync<MqttTransportException>(() => stranger.ConnectAsync(ct));

        // Revoked: its user is deleted and its connection closed on the running cluster; it gets no connection again.
        int revokedMark = states.Items.Count;
        await endpoint.RevokeAsync("gw-a", ct);
        await states.WaitForAsync(e => e.State != MqttConnectionState.Connected, Wait, revokedMark, ct);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        Assert.NotEqual(MqttConnectionState.Connected, gateway.State);
        Assert.DoesNotContain("\"gw-a\"", await File.ReadAllTextAsync(endpoint.DefinitionsFile, ct), StringComparison.Ordinal);
    }
}
