using System.Globalization;
using Anshimi.Mqtt;

namespace Anshimi.Testing;

public sealed class RabbitMqClusterOptions
{
    /// <summary>
    /// Each node's rabbitmq.conf as the cloud bridge writes it (<c>endpoint config --broker rabbitmq</c>), given the node's
    /// MQTT port and every node's name; null runs plain TCP with anonymous clients.
    /// </summary>
    public Func<int, IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<string>>>? Configuration { get; init; }

    /// <summary>With <see cref="Configuration"/>: the site CA clients pin.</summary>
    public string? CaFile { get; init; }

    /// <summary>With <see cref="Configuration"/>: the certificate and key the cluster's readiness probe connects with.</summary>
    public string? ProbeCertificateFile { get; init; }

    public string? ProbeKeyFile { get; init; }
}

/// <summary>
/// Three RabbitMQ 3.10 nodes (Debian <c>rabbitmq-server</c>) clustered on loopback by classic peer discovery,
/// with the MQTT plugin keeping each QoS 1 subscription in a quorum queue replicated on all three
/// (<c>mqtt.durable_queue_type = quorum</c>). The nodes share an Erlang cookie and a port mapper (epmd) of their
/// own on a free port, so they never meet another RabbitMQ on the machine. By default MQTT clients connect
/// anonymously as RabbitMQ's loopback-only default user over plain TCP; with <see cref="RabbitMqClusterOptions.Configuration"/>
/// each node runs the configuration the cloud bridge writes for it (TLS only, the certificate's CN as the user, the
/// definitions of every identity; docs/high-availability.md).
/// </summary>
public sealed class RabbitMqCluster : MqttCluster
{
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string PortMapper = "/usr/bin/epmd";

    private readonly string _cookieHome;
    private readonly int _portMapperPort = FreePort.Next();
    private readonly int[] _distributionPorts = Enumerable.Range(0, NodeCount).Select(_ => FreePort.Next()).ToArray();
    private readonly string _clusterName = "anshimi" + Guid.NewGuid().ToString("N")[..8];
    private readonly RabbitMqClusterOptions _options;
    private RunningProcess? _portMapper;

    private RabbitMqCluster(RabbitMqClusterOptions options)
        : base("rabbitmq-cluster-")
    {
        _options = options;
        _cookieHome = Path.Combine(Directory, "home");
    }

    private bool Tls => _options.Configuration is not null;

    public override string Engine => "RabbitMQ 3.10";

    public string NodeName(int node) => $"{_clusterName}-{node + 1}@localhost";

    /// <summary>Writes each node's configuration and starts the cluster: the first node alone, then the two that join it.</summary>
    public static async Task<RabbitMqCluster> StartAsync(RabbitMqClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ServerScript))
        {
            throw new InvalidOperationException($"{ServerScript} is missing: apt-get install rabbitmq-server (make deps)");
        }

        var cluster = new RabbitMqCluster(options ?? new RabbitMqClusterOptions());
        try
        {
            await cluster.WriteConfigurationAsync(cancellationToken).ConfigureAwait(false);
            cluster._portMapper = ProcessRunner.Start(PortMapper, ["-port", cluster._portMapperPort.ToString(CultureInfo.InvariantCulture)]);

            // Nodes booted at the same instant each start their own MQTT client-id registry and refuse clients;
            // nodes that join a running one share its registry.
            await cluster.StartAllAsync(firstNodeAlone: true, cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Like the base options; with TLS, the CA pinned and the probe's certificate unless the caller sets another.</summary>
    public override MqttClientOptions ClientOptions(string clientId, int firstNode = 0)
    {
        MqttClientOptions options = base.ClientOptions(clientId, firstNode);
        if (Tls)
        {
            options.TlsCaFile = _options.CaFile;
            options.TlsClientCertificateFile = _options.ProbeCertificateFile;
            options.TlsClientKeyFile = _options.ProbeKeyFile;
        }

        return options;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        if (_portMapper is not null)
        {
            await _portMapper.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The <c>rabbitmqctl</c> command line that reaches <paramref name="node"/> (its cookie and port mapper), for the cloud
    /// bridge's <c>Sites:RabbitMqCtl</c>.
    /// </summary>
    public string ControlCommand(int node) =>
        $"env HOME={_cookieHome} ERL_EPMD_PORT={_portMapperPort} /usr/lib/rabbitmq/bin/rabbitmqctl -n {NodeName(node)}";

    protected override RunningProcess StartNodeProcess(int node) =>
        ProcessRunner.Start("/usr/bin/env",
        [
            $"HOME={_cookieHome}",
            $"ERL_EPMD_PORT={_portMapperPort}",
            $"RABBITMQ_NODENAME={NodeName(node)}",
            $"RABBITMQ_DIST_PORT={_distributionPorts[node]}",
            $"RABBITMQ_CONFIG_FILE={Path.Combine(NodeDirectory(node), "rabbitmq.conf")}",
            $"RABBITMQ_ENABLED_PLUGINS_FILE={Path.Combine(Directory, "enabled_plugins")}",
            $"RABBITMQ_MNESIA_BASE={Path.Combine(NodeDirectory(node), "mnesia")}",
            $"RABBITMQ_LOG_BASE={NodeDirectory(node)}",
            $"RABBITMQ_LOGS={LogFile(node)}",
            $"RABBITMQ_PID_FILE={Path.Combine(NodeDirectory(node), "pid")}",
            $"ERL_CRASH_DUMP={Path.Combine(NodeDirectory(node), "erl_crash.dump")}",
            ServerScript,
        ]);

    protected override void KillEverything()
    {
        base.KillEverything();
        _portMapper?.Kill();
    }

    private async Task WriteConfigurationAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(_cookieHome);
        string cookie = Path.Combine(_cookieHome, ".erlang.cookie");
        File.WriteAllText(cookie, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20)));
        if (!OperatingSystem.IsWindows())
        {
            // Erlang refuses a cookie others can read.
            File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        }
        File.WriteAllText(Path.Combine(Directory, "enabled_plugins"), "[rabbitmq_mqtt].\n");
        string[] nodeNames = [.. Enumerable.Range(0, NodeCount).Select(NodeName)];
        for (int node = 0; node < NodeCount; node++)
        {
            System.IO.Directory.CreateDirectory(Path.Combine(NodeDirectory(node), "mnesia"));
            List<string> lines = ["log.file.level = info", "log.console = false"];
            if (_options.Configuration is { } configuration)
            {
                lines.AddRange(await configuration(MqttPorts[node], nodeNames, cancellationToken).ConfigureAwait(false));
            }
            else
            {
                lines.AddRange(
                [
                    // MQTT only: no AMQP listener.
                    "listeners.tcp = none",
                    "mqtt.durable_queue_type = quorum",
                    "cluster_formation.peer_discovery_backend = classic_config",
                    .. nodeNames.Select((name, i) => $"cluster_formation.classic_config.nodes.{i + 1} = {name}"),
                    $"mqtt.listeners.tcp.default = {Host}:{MqttPorts[node]}",
                    "mqtt.allow_anonymous = true",
                ]);
            }

            await File.WriteAllLinesAsync(Path.Combine(NodeDirectory(node), "rabbitmq.conf"), lines, cancellationToken).ConfigureAwait(false);
        }
    }
}
