using System.Globalization;
using Anshimi.Mqtt;

namespace Anshimi.Testing;

/// <summary>
/// The city's cloud endpoint: a three-node <see cref="RabbitMqCluster"/> on the configuration and definitions the cloud
/// bridge writes (<c>endpoint config --broker rabbitmq</c>: TLS, client certificates, users and permissions of every
/// identity), with the certificates its own commands make (<c>endpoint init</c>, <c>bridges issue</c>, <c>gateways issue</c>,
/// <c>gateways revoke</c>, run as processes against the running cluster through <c>rabbitmqctl</c>).
/// </summary>
public sealed class CloudEndpointCluster : IAsyncDisposable
{
    private CloudEndpointCluster(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public RabbitMqCluster Cluster { get; private set; } = null!;

    public string CertificateDirectory => Path.Combine(Directory, "certs");

    public string CaFile => Path.Combine(CertificateDirectory, "ca.crt");

    /// <summary>The definitions every node loads at boot, kept in step by the bridge's commands.</summary>
    public string DefinitionsFile => Path.Combine(Directory, "definitions.json");

    /// <summary>Every node as <c>mqtts://127.0.0.1:port</c>, comma-separated: a gateway's <c>Cloud:Url</c>.</summary>
    public string Url => string.Join(',', Cluster.MqttPorts.Select(port => "mqtts://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)));

    /// <param name="bridgeInstances">Bridge instances given their own identity (<c>bridges issue</c>) before the cluster is configured.</param>
    public static async Task<CloudEndpointCluster> StartAsync(IEnumerable<string> bridgeInstances, CancellationToken cancellationToken)
    {
        var endpoint = new CloudEndpointCluster(System.IO.Directory.CreateTempSubdirectory("anshimi-cluster-").FullName);
        try
        {
            await endpoint.RunAsync(["endpoint", "init", "--host", "127.0.0.1", "--host", "localhost"], cancellationToken).ConfigureAwait(false);
            foreach (string instance in bridgeInstances)
            {
                await endpoint.RunAsync(["bridges", "issue", instance, "--out", endpoint.BridgeCredentials(instance)], cancellationToken).ConfigureAwait(false);
            }

            endpoint.Cluster = await RabbitMqCluster.StartAsync(new RabbitMqClusterOptions
            {
                Configuration = async (port, nodeNames, ct) =>
                {
                    ProcessResult config = await endpoint.RunAsync(
                    [
                        "endpoint", "config", "--broker", "rabbitmq", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                        .. nodeNames.SelectMany(name => new[] { "--node", name }), "--definitions", endpoint.DefinitionsFile,
                    ], ct).ConfigureAwait(false);
                    return config.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                },
                CaFile = endpoint.CaFile,
                ProbeCertificateFile = Path.Combine(endpoint.CertificateDirectory, "anshimi-cloud-bridge.crt"),
                ProbeKeyFile = Path.Combine(endpoint.CertificateDirectory, "anshimi-cloud-bridge.key"),
            }, cancellationToken).ConfigureAwait(false);
            return endpoint;
        }
        catch
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Issues a gateway's credentials with <c>gateways issue</c>, which adds its user to the running cluster; returns their directory.</summary>
    public async Task<string> IssueAsync(string gatewayId, CancellationToken cancellationToken)
    {
        string credentials = Path.Combine(Directory, "boxes", gatewayId);
        await RunAsync(["gateways", "issue", gatewayId, "--out", credentials], cancellationToken).ConfigureAwait(false);
        return credentials;
    }

    /// <summary>Revokes a gateway with <c>gateways revoke</c>: its user is deleted from the running cluster and its connections closed.</summary>
    public Task RevokeAsync(string gatewayId, CancellationToken cancellationToken) => RunAsync(["gateways", "revoke", gatewayId], cancellationToken);

    /// <summary>The gateway's settings for its link to every node with the credentials in <paramref name="credentials"/>.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment(string credentials, TimeSpan unreachableAfter) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Cloud__Url"] = Url,
        ["Cloud__CaFile"] = Path.Combine(credentials, "ca.crt"),
        ["Cloud__CertificateFile"] = Path.Combine(credentials, "gateway.crt"),
        ["Cloud__KeyFile"] = Path.Combine(credentials, "gateway.key"),
        ["Cloud__UnreachableAfter"] = unreachableAfter.ToString("c", CultureInfo.InvariantCulture),
    };

    /// <summary>A bridge instance's settings for its session on every node (starting with <paramref name="firstNode"/>) under its own identity.</summary>
    public IReadOnlyDictionary<string, string> BridgeEnvironment(string instance, int firstNode = 0)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // The certificate signs it in: RabbitMQ would take a user name sent in CONNECT over the certificate's CN.
            ["Mqtt__Username"] = "",
            ["Mqtt__Password"] = "",
            ["Mqtt__TlsCaFile"] = CaFile,
            ["Mqtt__TlsClientCertificateFile"] = Path.Combine(BridgeCredentials(instance), "bridge.crt"),
            ["Mqtt__TlsClientKeyFile"] = Path.Combine(BridgeCredentials(instance), "bridge.key"),
        };
        for (int i = 0; i < MqttCluster.NodeCount; i++)
        {
            settings[$"Mqtt__Endpoints__{i}"] = Cluster.Endpoints[(firstNode + i) % MqttCluster.NodeCount];
        }

        return settings;
    }

    /// <summary>Options for a client of the cluster under a gateway's credentials (every node listed, starting at <paramref name="firstNode"/>).</summary>
    public MqttClientOptions GatewayClientOptions(string gatewayId, string credentials, string clientId, int firstNode = 0)
    {
        MqttClientOptions options = Cluster.ClientOptions(clientId, firstNode);
        options.TlsClientCertificateFile = Path.Combine(credentials, "gateway.crt");
        options.TlsClientKeyFile = Path.Combine(credentials, "gateway.key");
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private string BridgeCredentials(string instance) => Path.Combine(Directory, "bridges", instance);

    /// <summary>A bridge command with the cluster's settings: the definitions file and, once it runs, <c>rabbitmqctl</c> on a live node.</summary>
    private Task<ProcessResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        List<string> settings = ["Sites__RabbitMqDefinitionsFile=" + DefinitionsFile];
        if (Cluster is not null && Enumerable.Range(0, MqttCluster.NodeCount).FirstOrDefault(Cluster.IsRunning, -1) is var node and >= 0)
        {
            settings.Add("Sites__RabbitMqCtl=" + Cluster.ControlCommand(node));
        }

        return CloudEndpoint.RunBridgeCommandAsync(CertificateDirectory, settings, arguments, cancellationToken);
    }
}
