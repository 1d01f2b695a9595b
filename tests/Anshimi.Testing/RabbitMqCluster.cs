using System.Globalization;

namespace Anshimi.Testing;

/// <summary>
/// Three RabbitMQ 3.10 nodes (Debian <c>rabbitmq-server</c>) clustered on loopback by classic peer discovery,
/// with the MQTT plugin keeping each QoS 1 subscription in a quorum queue replicated on all three
/// (<c>mqtt.durable_queue_type = quorum</c>). The nodes share an Erlang cookie and a port mapper (epmd) of their
/// own on a free port, so they never meet another RabbitMQ on the machine. MQTT clients connect anonymously as
/// RabbitMQ's loopback-only default user.
/// </summary>
public sealed class RabbitMqCluster : MqttCluster
{
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string PortMapper = "/usr/bin/epmd";

    private readonly string _cookieHome;
    private readonly int _portMapperPort = FreePort.Next();
    private readonly int[] _distributionPorts = Enumerable.Range(0, NodeCount).Select(_ => FreePort.Next()).ToArray();
    private readonly string _clusterName = "anshimi" + Guid.NewGuid().ToString("N")[..8];
    private RunningProcess? _portMapper;

    private RabbitMqCluster()
        : base("rabbitmq-cluster-")
    {
        _cookieHome = Path.Combine(Directory, "home");
    }

    public override string Engine => "RabbitMQ 3.10";

    public string NodeName(int node) => $"{_clusterName}-{node + 1}@localhost";

    /// <summary>Writes each node's configuration and starts the cluster: the first node alone, then the two that join it.</summary>
    public static async Task<RabbitMqCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ServerScript))
        {
            throw new InvalidOperationException($"{ServerScript} is missing: apt-get install rabbitmq-server (make deps)");
        }

        var cluster = new RabbitMqCluster();
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
                $"mqtt.listeners.tcp.default = {Host}:{MqttPorts[node]}",
                "mqtt.durable_queue_type = quorum",
                "mqtt.allow_anonymous = true",
                "cluster_formation.peer_discovery_backend = classic_config",
                "log.file.level = info",
                "log.console = false",
            ];
            for (int peer = 0; peer < NodeCount; peer++)
            {
                lines.Add($"cluster_formation.classic_config.nodes.{peer + 1} = {NodeName(peer)}");
            }

            File.WriteAllLines(Path.Combine(NodeDirectory(node), "rabbitmq.conf"), lines);
        }
    }
}
