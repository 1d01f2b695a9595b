using System.Collections.Concurrent;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>
/// The cloud endpoint's listener for gateway boxes (BrokerListeners.GatewayCertificateListener) on a real Mosquitto
/// with certificates this test issues: a gateway's certificate names its session, so another gateway's valid
/// certificate, a certificate of another CA or no certificate cannot take over a gateway's or the cloud bridge's session.
/// </summary>
[Trait("Category", "Sites")]
public sealed class CloudEndpointClientIdTests
{
    private const string CloudPassword = "cloud-password";

    [Fact]
    public async Task Gateway_identities_reach_only_their_own_session_and_the_owner_stays_connected()
    {
        using SiteCertificates cloud = SiteCertificates.Create("Anshimi cloud CA");
        using SiteCertificates foreign = SiteCertificates.Create("Some other CA");
        int tlsPort = FreePort.Next();
        var options = new MosquittoBrokerOptions();
        options.Users["cloud"] = CloudPassword;
        foreach (string line in BrokerListeners.GatewayCertificateListener(tlsPort, "127.0.0.1", cloud.CaFile, cloud.ServerCertificateFile, cloud.ServerKeyFile))
        {
            options.ExtraConfigLines.Add(line);
        }

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(options);

        // The cloud bridge on its password listener, and gateway gw-a over TLS with its certificate.
        await using MqttSession bridge = MqttSession.Create(broker.ClientOptions("cloud", CloudBridgeExtensions.DefaultClientId));
        await bridge.ConnectAsync(CancellationToken.None);
        string gwAClientId = BrokerListeners.AccountClientId("gateway-gw-a");
        await using MqttSession gwA = MqttSession.Create(Gateway(broker, tlsPort, cloud, cloud.IssueClient("gw-a"), gwAClientId));
        await gwA.ConnectAsync(CancellationToken.None);
        Assert.Contains("as gw-a (", broker.ReadLog(), StringComparison.Ordinal);
        ConcurrentQueue<MqttConnectionState> bridgeStates = TakeoverAttempt.Watch(bridge);
        ConcurrentQueue<MqttConnectionState> gwAStates = TakeoverAttempt.Watch(gwA);

        (string CertificateFile, string KeyFile) gwB = cloud.IssueClient("gw-b");
        (string CertificateFile, string KeyFile) forgedA = foreign.IssueClient("gw-a");
        var outcomes = new List<string>();
        foreach (string id in new[] { gwAClientId, "gw-a", CloudBridgeExtensions.DefaultClientId, "cloud" })
        {
            outcomes.Add("gw-b as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Gateway(broker, tlsPort, cloud, gwB, id)));
            outcomes.Add("other CA's gw-a as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Gateway(broker, tlsPort, cloud, forgedA, id)));
            outcomes.Add("no certificate as " + id + ": " + await TakeoverAttempt.RunAsync(broker, Gateway(broker, tlsPort, cloud, null, id)));
        }

        string[] expected = [.. new[] { gwAClientId, "gw-a", CloudBridgeExtensions.DefaultClientId, "cloud" }.SelectMany(id => new[]
        {
            "gw-b as " + id + ": connected as gw-b",
            "other CA's gw-a as " + id + ": no connection",
            "no certificate as " + id + ": no connection",
        })];
        Assert.Equal(expected, outcomes);
        Assert.True(gwA.IsConnected);
        Assert.True(bridge.IsConnected);
        Assert.Empty(gwAStates);
        Assert.Empty(bridgeStates);
        Assert.DoesNotContain("already connected, closing old connection", broker.ReadLog(), StringComparison.Ordinal);
    }

    private static MqttClientOptions Gateway(MosquittoBroker broker, int tlsPort, SiteCertificates trusted, (string CertificateFile, string KeyFile)? identity, string clientId)
    {
        MqttClientOptions options = broker.ClientOptions(null, clientId);
        options.Port = tlsPort;
        options.TlsCaFile = trusted.CaFile;
        options.TlsClientCertificateFile = identity?.CertificateFile;
        options.TlsClientKeyFile = identity?.KeyFile;
        return options;
    }
}
