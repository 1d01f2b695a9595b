using System.Globalization;
using System.Text.Json;
using Anshimi.Mqtt;

namespace Anshimi.Testing;

/// <summary>One identity on the cluster's TLS listener: the CN of its client certificate and what it may do.</summary>
/// <param name="User">The certificate's CN, the user name RabbitMQ takes from it.</param>
/// <param name="ClientId">The MQTT client id it sends; only its own session queue is open to it.</param>
/// <param name="PublishTopics">Regular expression over RabbitMQ routing keys (MQTT topics with '.' for '/') it may publish to.</param>
/// <param name="SubscribeTopics">Likewise for what it may subscribe to.</param>
public sealed record RabbitMqIdentity(string User, string ClientId, string PublishTopics, string SubscribeTopics);

public sealed class RabbitMqClusterOptions
{
    /// <summary>PEM of the CA that issued every client certificate and <see cref="CertificateFile"/>; null runs plain TCP with anonymous clients.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM certificate and key every node presents (naming 127.0.0.1).</summary>
    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>With TLS: the only identities the cluster knows, none with a password.</summary>
    public IReadOnlyList<RabbitMqIdentity> Identities { get; init; } = [];

    /// <summary>With TLS: the certificate and key the cluster's readiness probe connects with (one of <see cref="Identities"/>).</summary>
    public string? ProbeCertificateFile { get; init; }

    public string? ProbeKeyFile { get; init; }
}

/// <summary>
/// Three RabbitMQ 3.10 nodes (Debian <c>rabbitmq-server</c>) clustered on loopback by classic peer discovery,
/// with the MQTT plugin keeping each QoS 1 subscription in a quorum queue replicated on all three
/// (<c>mqtt.durable_queue_type = quorum</c>). The nodes share an Erlang cookie and a port mapper (epmd) of their
/// own on a free port, so they never meet another RabbitMQ on the machine. By default MQTT clients connect
/// anonymously as RabbitMQ's loopback-only default user over plain TCP; with <see cref="RabbitMqClusterOptions.CaFile"/>
/// the only listener is TLS, a client certificate from that CA is required, its CN is the user (<c>ssl_cert_login</c>)
/// and each identity may touch only its own session queue and the topics it is given (docs/high-availability.md).
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

    private bool Tls => _options.CaFile is not null;

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
            cluster.WriteConfiguration();
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

    private void WriteConfiguration()
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
        for (int node = 0; node < NodeCount; node++)
        {
            System.IO.Directory.CreateDirectory(Path.Combine(NodeDirectory(node), "mnesia"));
            List<string> lines =
            [
                // MQTT only: no AMQP listener.
                "listeners.tcp = none",
                "mqtt.durable_queue_type = quorum",
                "cluster_formation.peer_discovery_backend = classic_config",
                "log.file.level = info",
                "log.console = false",
            ];
            for (int peer = 0; peer < NodeCount; peer++)
            {
                lines.Add($"cluster_formation.classic_config.nodes.{peer + 1} = {NodeName(peer)}");
            }

            lines.AddRange(Tls ? TlsLines(node) : [$"mqtt.listeners.tcp.default = {Host}:{MqttPorts[node]}", "mqtt.allow_anonymous = true"]);

            File.WriteAllLines(Path.Combine(NodeDirectory(node), "rabbitmq.conf"), lines);
        }
    }

    private IEnumerable<string> TlsLines(int node)
    {
        string definitions = Path.Combine(Directory, "definitions.json");
        if (node == 0)
        {
            WriteDefinitions(definitions);
        }

        return
        [
            "mqtt.listeners.tcp = none",
            $"mqtt.listeners.ssl.default = {Host}:{MqttPorts[node]}",
            "mqtt.allow_anonymous = false",
            "mqtt.ssl_cert_login = true",
            "ssl_cert_login_from = common_name",
            $"ssl_options.cacertfile = {_options.CaFile}",
            $"ssl_options.certfile = {_options.CertificateFile}",
            $"ssl_options.keyfile = {_options.KeyFile}",
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = true",
            "ssl_options.versions.1 = tlsv1.3",
            "ssl_options.versions.2 = tlsv1.2",
            $"load_definitions = {definitions}",
        ];
    }

    /// <summary>Users without passwords (only a certificate signs them in), each confined to its own session queue and topics.</summary>
    private void WriteDefinitions(string file)
    {
        var definitions = new
        {
            vhosts = new[] { new { name = "/" } },
            users = _options.Identities.Select(i => new { name = i.User, password_hash = "", hashing_algorithm = "rabbit_password_hashing_sha256", tags = "" }),
            permissions = _options.Identities.Select(i =>
            {
                string queue = "mqtt-subscription-" + System.Text.RegularExpressions.Regex.Escape(i.ClientId) + "qos[01]";
                return new { user = i.User, vhost = "/", configure = $"^{queue}$", write = $"^(amq\\.topic|{queue})$", read = $"^(amq\\.topic|{queue})$" };
            }),
            topic_permissions = _options.Identities.Select(i => new { user = i.User, vhost = "/", exchange = "amq.topic", write = i.PublishTopics, read = i.SubscribeTopics }),
        };
        File.WriteAllText(file, JsonSerializer.Serialize(definitions));
    }
}
