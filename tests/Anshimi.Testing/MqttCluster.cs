using System.Collections.Concurrent;
using System.Text;
using Anshimi.Mqtt;

namespace Anshimi.Testing;

/// <summary>
/// Three nodes of a clustered MQTT broker on loopback, each in its own data directory with its own ports, all
/// under one private temporary directory. A node can be SIGKILLed and started again on its ports and data.
/// <see cref="RabbitMqCluster"/> and <see cref="NatsCluster"/> are the engines.
/// </summary>
public abstract class MqttCluster : IAsyncDisposable
{
    public const int NodeCount = 3;

    // Nodes still running when the test host exits (a crashed or aborted run) are killed, not orphaned.
    private static readonly ConcurrentDictionary<MqttCluster, byte> Live = new();

    private readonly RunningProcess?[] _nodes = new RunningProcess?[NodeCount];
    private int _probes;

    static MqttCluster()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (MqttCluster cluster in Live.Keys)
            {
                cluster.KillEverything();
            }
        };
    }

    protected MqttCluster(string directoryPrefix)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory(directoryPrefix).FullName;
        MqttPorts = Enumerable.Range(0, NodeCount).Select(_ => FreePort.Next()).ToArray();
        Live[this] = 0;
    }

    /// <summary>The engine and its version, e.g. "RabbitMQ 3.10".</summary>
    public abstract string Engine { get; }

    public string Host => "127.0.0.1";

    /// <summary>Each node's MQTT listener.</summary>
    public IReadOnlyList<int> MqttPorts { get; }

    /// <summary>Every node as <c>host:port</c>, the form of <see cref="MqttClientOptions.Endpoints"/>.</summary>
    public IReadOnlyList<string> Endpoints => MqttPorts.Select(port => $"{Host}:{port}").ToArray();

    /// <summary>The cluster's private directory: one data directory and log per node.</summary>
    public string Directory { get; }

    /// <summary>Generous: a loaded two-core machine takes tens of seconds to boot an Erlang node.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public bool IsRunning(int node) => _nodes[node] is { HasExited: false };

    /// <summary>The node listening at <paramref name="endpoint"/> (<c>host:port</c>), or -1.</summary>
    public int NodeOf(string endpoint) => Endpoints.ToList().IndexOf(endpoint);

    /// <summary>
    /// Options for a client of the cluster with a persistent session: every node in the endpoint list, starting
    /// with <paramref name="firstNode"/>, and reconnect delays short enough for tests.
    /// </summary>
    public virtual MqttClientOptions ClientOptions(string clientId, int firstNode = 0) => new()
    {
        Endpoints = Enumerable.Range(0, NodeCount).Select(i => Endpoints[(firstNode + i) % NodeCount]).ToList(),
        ClientId = clientId,
        KeepAliveSeconds = 10,
        ConnectTimeout = TimeSpan.FromSeconds(60),
        CommunicationTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>SIGKILL to the node and its children: it dies at once, as in a power cut.</summary>
    public async Task KillNodeAsync(int node)
    {
        if (_nodes[node] is not { } process)
        {
            return;
        }

        process.Kill();
        await process.WaitForExitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
    }

    /// <summary>(Re)starts a node on its ports and data and waits until it takes an MQTT session.</summary>
    public async Task StartNodeAsync(int node, CancellationToken cancellationToken = default)
    {
        if (IsRunning(node))
        {
            throw new InvalidOperationException($"node {node} is already running");
        }

        if (_nodes[node] is { } old)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }

        _nodes[node] = StartNodeProcess(node);
        await WaitUntilServingAsync(node, cancellationToken).ConfigureAwait(false);
    }

    public string ReadLog(int node)
    {
        try
        {
            using var stream = new FileStream(LogFile(node), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (RunningProcess? process in _nodes)
        {
            if (process is not null)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
        }

        Live.TryRemove(this, out _);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; harmless.
        }

        GC.SuppressFinalize(this);
    }

    protected string NodeDirectory(int node) => Path.Combine(Directory, $"node{node + 1}");

    protected string LogFile(int node) => Path.Combine(Directory, $"node{node + 1}.log");

    /// <summary>Starts the node's process; its configuration is written already.</summary>
    protected abstract RunningProcess StartNodeProcess(int node);

    protected virtual void KillEverything()
    {
        foreach (RunningProcess? process in _nodes)
        {
            process?.Kill();
        }
    }

    /// <summary>Starts every node: the first alone, then the others, as some engines need one node to form the cluster around.</summary>
    protected async Task StartAllAsync(bool firstNodeAlone, CancellationToken cancellationToken)
    {
        if (firstNodeAlone)
        {
            await StartNodeAsync(0, cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(Enumerable.Range(1, NodeCount - 1).Select(node => StartNodeAsync(node, cancellationToken))).ConfigureAwait(false);
        }
        else
        {
            await Task.WhenAll(Enumerable.Range(0, NodeCount).Select(node => StartNodeAsync(node, cancellationToken))).ConfigureAwait(false);
        }
    }

    /// <summary>A node serves once a real MQTT session connects to it alone; an open port is not enough for a node still joining.</summary>
    private async Task WaitUntilServingAsync(int node, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartupTimeout);
        string lastFailure = "no attempt";
        while (true)
        {
            if (!IsRunning(node))
            {
                throw new InvalidOperationException($"{Engine} node {node + 1} exited during startup.\nlog:\n{Tail(ReadLog(node))}");
            }

            MqttClientOptions probe = ClientOptions($"probe-{node}-{Interlocked.Increment(ref _probes)}", node);
            probe.Endpoints = [Endpoints[node]];
            probe.CleanSession = true;
            probe.ConnectTimeout = TimeSpan.FromSeconds(5);
            probe.CommunicationTimeout = TimeSpan.FromSeconds(5);
            await using (var session = MqttSession.Create(probe))
            {
                try
                {
                    await session.ConnectAsync(deadline.Token).ConfigureAwait(false);
                    return;
                }
                catch (MqttTransportException ex)
                {
                    lastFailure = ex.Message;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException(
                        $"{Engine} node {node + 1} took no MQTT session within {StartupTimeout.TotalSeconds:0} s ({lastFailure}).\nlog:\n{Tail(ReadLog(node))}");
                }
            }

            try
            {
                await Task.Delay(250, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{Engine} node {node + 1} took no MQTT session within {StartupTimeout.TotalSeconds:0} s ({lastFailure}).\nlog:\n{Tail(ReadLog(node))}");
            }
        }
    }

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;
}
