using System.Globalization;

namespace Anshimi.Testing;

/// <summary>
/// The cloud's MQTT endpoint as deployed: a real Mosquitto with the configuration the cloud bridge writes (<c>endpoint config</c>: TLS,
/// client certificates required, CRL, per-gateway ACL) with the certificates the cloud bridge's own commands make
/// (<c>endpoint init</c>, <c>gateways issue</c>, <c>gateways revoke</c>, <c>bridges issue</c>, run as processes).
/// </summary>
public sealed class CloudEndpoint : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private CloudEndpoint(string directory, MosquittoBroker broker)
    {
        Directory = directory;
        Broker = broker;
    }

    public string Directory { get; }

    public MosquittoBroker Broker { get; }

    public string CertificateDirectory => Path.Combine(Directory, "certs");

    public string CaFile => Path.Combine(CertificateDirectory, "ca.crt");

    public string Url => "mqtts://127.0.0.1:" + Broker.Port.ToString(CultureInfo.InvariantCulture);

    /// <param name="extraAclLines">Lines appended to the deployed ACL, e.g. probe identities a benchmark measures the bare link with.</param>
    /// <param name="bridgeInstances">Bridge instances given their own identity (<c>bridges issue</c>) before the endpoint is configured.</param>
    public static async Task<CloudEndpoint> StartAsync(CancellationToken cancellationToken, IEnumerable<string>? extraAclLines = null, IEnumerable<string>? bridgeInstances = null)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("anshimi-endpoint-").FullName;
        string certificates = Path.Combine(directory, "certs");
        await RunCommandAsync(certificates, null, ["endpoint", "init", "--host", "127.0.0.1", "--host", "localhost"], cancellationToken).ConfigureAwait(false);
        foreach (string instance in bridgeInstances ?? [])
        {
            await RunCommandAsync(certificates, null, ["bridges", "issue", instance, "--out", BridgeCredentials(directory, instance)], cancellationToken).ConfigureAwait(false);
        }

        string acl = Path.Combine(directory, "endpoint.acl");
        int port = FreePort.Next();
        // The broker's own directory is known only when it starts: the configuration names it by a token.
        const string BrokerDirectory = "{broker}";
        ProcessResult config = await RunCommandAsync(certificates, null,
        [
            "endpoint", "config", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--acl", acl,
            "--data", BrokerDirectory + "/data", "--log", BrokerDirectory + "/mosquitto.log", "--user", Environment.UserName,
        ], cancellationToken).ConfigureAwait(false);
        if (extraAclLines is not null)
        {
            await File.AppendAllLinesAsync(acl, ["", .. extraAclLines], cancellationToken).ConfigureAwait(false);
        }

        var options = new MosquittoBrokerOptions
        {
            Port = port,
            Configuration = (_, brokerDirectory) => config.StandardOutput.Replace(BrokerDirectory, brokerDirectory, StringComparison.Ordinal).Split('\n'),
        };
        return new CloudEndpoint(directory, await MosquittoBroker.StartAsync(options, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Issues a gateway's credentials with <c>gateways issue</c>; returns the directory holding them.</summary>
    public async Task<string> IssueAsync(string gatewayId, CancellationToken cancellationToken)
    {
        string credentials = Path.Combine(Directory, "boxes", gatewayId);
        await RunCommandAsync(CertificateDirectory, null, ["gateways", "issue", gatewayId, "--out", credentials], cancellationToken).ConfigureAwait(false);
        return credentials;
    }

    /// <summary>Revokes a gateway with <c>gateways revoke</c>, which makes the running endpoint reload its CRL (SIGHUP).</summary>
    public Task RevokeAsync(string gatewayId, CancellationToken cancellationToken) =>
        RunCommandAsync(CertificateDirectory, "kill -HUP " + Broker.ProcessId!.Value.ToString(CultureInfo.InvariantCulture), ["gateways", "revoke", gatewayId], cancellationToken);

    /// <summary>The gateway's settings for its link to this endpoint with the credentials in <paramref name="credentials"/>.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment(string credentials, TimeSpan unreachableAfter) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Cloud__Url"] = Url,
        ["Cloud__CaFile"] = Path.Combine(credentials, "ca.crt"),
        ["Cloud__CertificateFile"] = Path.Combine(credentials, "gateway.crt"),
        ["Cloud__KeyFile"] = Path.Combine(credentials, "gateway.key"),
        ["Cloud__UnreachableAfter"] = unreachableAfter.ToString("c", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// The cloud bridge's settings for its session on this endpoint, under its own certificate, or under the identity of
    /// <paramref name="instance"/> (one of the <c>bridgeInstances</c> it was started with).
    /// </summary>
    public IReadOnlyDictionary<string, string> BridgeEnvironment(string? instance = null) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Mqtt__Host"] = "127.0.0.1",
        ["Mqtt__Port"] = Broker.Port.ToString(CultureInfo.InvariantCulture),
        ["Mqtt__TlsCaFile"] = CaFile,
        ["Mqtt__TlsClientCertificateFile"] = instance is null ? Path.Combine(CertificateDirectory, "anshimi-cloud-bridge.crt") : Path.Combine(BridgeCredentials(Directory, instance), "bridge.crt"),
        ["Mqtt__TlsClientKeyFile"] = instance is null ? Path.Combine(CertificateDirectory, "anshimi-cloud-bridge.key") : Path.Combine(BridgeCredentials(Directory, instance), "bridge.key"),
    };

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync().ConfigureAwait(false);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }
    }

    private static string BridgeCredentials(string directory, string instance) => Path.Combine(directory, "bridges", instance);

    private static Task<ProcessResult> RunCommandAsync(string certificates, string? reload, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        RunBridgeCommandAsync(certificates, ["Sites__ReloadCommand=" + (reload ?? "")], arguments, cancellationToken);

    /// <summary>Runs one of the cloud bridge's commands on the site CA in <paramref name="certificates"/>, with settings given as <c>KEY=value</c>.</summary>
    internal static async Task<ProcessResult> RunBridgeCommandAsync(string certificates, IEnumerable<string> settings, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        List<string> command =
        [
            "Sites__CertificateDirectory=" + certificates,
            .. settings,
            "dotnet",
            RepoPaths.ProjectOutput("cloud-bridge/Anshimi.CloudBridge", "Anshimi.CloudBridge.dll"),
            .. arguments,
        ];
        ProcessResult result = await ProcessRunner.RunAsync("env", command, CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
        }

        return result;
    }
}
