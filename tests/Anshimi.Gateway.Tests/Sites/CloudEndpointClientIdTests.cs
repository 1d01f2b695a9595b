using System.Collections.Concurrent;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Sites;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>
/// The cloud's MQTT endpoint as deployed (the configuration the cloud bridge writes around
/// BrokerListeners.GatewayCertificateListener, certificates from its own commands): a gateway's certificate names
/// its session, so another gateway's valid certificate, a certificate of another CA or no certificate cannot take
/// over a gateway's or the cloud bridge's session.
/// </summary>
[Trait("Category", "Sites")]
public sealed class CloudEndpointClientIdTests
{
    [Fact]
    public async Task Gateway_identities_reach_only_their_own_session_and_the_owner_stays_connected()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct);
        string gwA = await endpoint.IssueAsync("gw-a", ct);
        string gwB = await endpoint.IssueAsync("gw-b", ct);
        string foreignDirectory = Directory.CreateTempSubdirectory("foreign-ca-").FullName;
        try
        {
            var foreign = new SiteAuthority(foreignDirectory, new SiteAuthorityOptions(), TimeProvider.System);
            foreign.Initialize(["127.0.0.1"]);
            string forgedA = Path.Combine(foreignDirectory, "gw-a");
            foreign.IssueGateway("gw-a", forgedA);

            // The cloud bridge and gateway gw-a, each with its own certificate and the id it sends by default.
            MosquittoBroker broker = endpoint.Broker;
            await using MqttSession bridge = MqttSession.Create(Identity(endpoint, endpoint.CertificateDirectory, SiteAuthority.BridgeIdentity, CloudBridgeExtensions.DefaultClientId));
            await bridge.ConnectAsync(ct);
            string gwAClientId = BrokerListeners.AccountClientId("gateway-gw-a");
            await using MqttSession owner = MqttSession.Create(Identity(endpoint, gwA, "gateway", gwAClientId));
            await owner.ConnectAsync(ct);
            Assert.Contains("as gw-a (", broker.ReadLog(), StringComparison.Ordinal);
            Assert.Contains("as " + SiteAuthority.BridgeIdentity + " (", broker.ReadLog(), StringComparison.Ordinal);
            ConcurrentQueue<MqttConnectionState> bridgeStates = TakeoverAttempt.Watch(bridge);
            ConcurrentQueue<MqttConnectionState> ownerStates = TakeoverAttempt.Watch(owner);

            string[] ids = [gwAClientId, "gw-a", CloudBridgeExtensions.DefaultClientId, SiteAuthority.BridgeIdentity];
            var outcomes = new List<string>();
            foreach (string id in ids)
            {
                outcomes.Add("gw-b as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Identity(endpoint, gwB, "gateway", id)));
                outcomes.Add("other CA's gw-a as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Identity(endpoint, forgedA, "gateway", id)));
                outcomes.Add("no certificate as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Identity(endpoint, null, null, id)));
            }

            string[] expected = [.. ids.SelectMany(id => new[]
            {
                "gw-b as " + id + ": connected as gw-b",
                "other CA's gw-a as " + id + ": no connection",
                "no certificate as " + id + ": no connection",
            })];
            Assert.Equal(expected, outcomes);
            Assert.True(owner.IsConnected);
            Assert.True(bridge.IsConnected);
            Assert.Empty(ownerStates);
            Assert.Empty(bridgeStates);
            Assert.DoesNotContain("already connected, closing old connection", broker.ReadLog(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(foreignDirectory, recursive: true);
        }
    }

    [Fact]
    public void The_endpoint_configuration_holds_the_gateway_listener_line_for_line_on_the_site_cas_files()
    {
        var authority = new SiteAuthority("/srv/sites", new SiteAuthorityOptions(), TimeProvider.System);

        IReadOnlyList<string> config = authority.EndpointConfiguration(8883, "0.0.0.0", "/etc/mosquitto/endpoint.acl", "/var/lib/mosquitto", "/var/log/endpoint.log", "mosquitto");

        IReadOnlyList<string> listener = BrokerListeners.GatewayCertificateListener(8883, "0.0.0.0", "/srv/sites/ca.crt", "/srv/sites/endpoint.crt", "/srv/sites/endpoint.key", "/srv/sites/crl.pem");
        int at = config.ToList().IndexOf(listener[0]);
        Assert.True(at >= 0, string.Join('\n', config));
        Assert.Equal(listener, config.Skip(at).Take(listener.Count));
        Assert.Single(config, l => l.StartsWith("listener ", StringComparison.Ordinal));
        Assert.Contains("allow_anonymous false", config);
        Assert.Contains("acl_file /etc/mosquitto/endpoint.acl", config);
    }

    /// <summary>A TLS client pinning the endpoint's CA, with the certificate <c>{name}.crt</c>/<c>.key</c> in <paramref name="credentials"/>, or none.</summary>
    private static MqttClientOptions Identity(CloudEndpoint endpoint, string? credentials, string? name, string clientId)
    {
        MqttClientOptions options = endpoint.Broker.ClientOptions(null, clientId);
        options.TlsCaFile = endpoint.CaFile;
        options.TlsClientCertificateFile = credentials is null ? null : Path.Combine(credentials, name + ".crt");
        options.TlsClientKeyFile = credentials is null ? null : Path.Combine(credentials, name + ".key");
        return options;
    }
}
