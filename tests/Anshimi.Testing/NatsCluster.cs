using System.Globalization;

namespace Anshimi.Testing;

/// <summary>
/// Three NATS 2.9 servers (Debian <c>nats-server</c>) routed into one cluster on loopback, with JetStream and
/// its MQTT listener: MQTT sessions, retained messages and each QoS 1 subscription's messages live in
/// JetStream streams and consumers replicated on all three (<c>mqtt { stream_replicas: 3, consumer_replicas: 3 }</c>).
/// MQTT clients connect without credentials.
/// </summary>
public sealed class NatsCluster : MqttCluster
{
    private const string Server = "/usr/sbin/nats-server";

    private readonly int[] _clientPorts = Enumerable.Range(0, NodeCount).Select(_ => FreePort.Next()).ToArray();
    private readonly int[] _routePorts = Enumerable.Range(0, NodeCount).Select(_ => FreePort.Next()).ToArray();

    private NatsCluster()
        : base("nats-cluster-")
    {
    }

    public override string Engine => "NATS 2.9";

    /// <summary>Writes each server's configuration and starts all three; JetStream elects its leaders once two see each other.</summary>
    public static async Task<NatsCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Server))
        {
            throw new InvalidOperationException($"{Server} is missing: apt-get install nats-server (make deps)");
        }

        var cluster = new NatsCluster();
        try
        {
            cluster.WriteConfiguration();
            await cluster.StartAllAsync(firstNodeAlone: false, cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override RunningProcess StartNodeProcess(int node) =>
        ProcessRunner.Start(Server, ["-c", Path.Combine(NodeDirectory(node), "nats.conf"), "-l", LogFile(node)]);

    private void WriteConfiguration()
    {
        string routes = string.Join(", ", _routePorts.Select(port => $"nats-route://{Host}:{port}"));
        for (int node = 0; node < NodeCount; node++)
        {
            string store = Path.Combine(NodeDirectory(node), "jetstream");
            System.IO.Directory.CreateDirectory(store);
            File.WriteAllLines(Path.Combine(NodeDirectory(node), "nats.conf"),
            [
                $"server_name: node{node + 1}",
                $"listen: {Host}:{_clientPorts[node].ToString(CultureInfo.InvariantCulture)}",
                $"jetstream {{ store_dir: \"{store}\", max_memory_store: 64MB, max_file_store: 1GB }}",
                $"cluster {{ name: anshimi, listen: {Host}:{_routePorts[node]}, routes: [{routes}] }}",
                $"mqtt {{ listen: {Host}:{MqttPorts[node]}, stream_replicas: 3, consumer_replicas: 3 }}",
            ]);
        }
    }
}
