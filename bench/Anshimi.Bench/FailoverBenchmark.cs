using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Npgsql;

namespace Anshimi.Bench;

/// <summary>
/// Press-to-console latency on the city's high-availability set-up — PostgreSQL, the three-node RabbitMQ cluster as the
/// cloud endpoint on TLS with a certificate identity per client, two cloud-bridge processes on the one database, boxes
/// linked to every node — beside the single-box set-up (SQLite, one Mosquitto endpoint) in the same run, each beside a
/// bare QoS 1 round trip over its endpoint; then the delay of alarms raised while a bridge instance and while a broker
/// node are SIGKILLed, and every alarm lost or doubled.
/// </summary>
internal sealed class FailoverBenchmark(int boxCount, int bellsPerBox, int alarmCount, double alarmsPerSecond, TimeSpan downFor)
{
    private const string ProbeA = "gw-probe-a";
    private const string ProbeB = "gw-probe-b";
    private const string ClusterProbe = "gw-failover-probe";
    private const string ProbePublisherClientId = "anshimi/cloud-bridge";

    // Every alarm the bells raised in the run (key → press) and each one's first appearance on the watched console.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Gateway, DateTimeOffset Cloud, DateTimeOffset Feed)> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _haKeys = new(StringComparer.Ordinal);
    private readonly List<string> _rows = [];
    private volatile bool _feedReady;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (boxCount < 2)
        {
            throw new ArgumentException("failover needs at least two boxes: the bridges of the first two are the two instances");
        }

        Console.WriteLine($"failover: {boxCount} boxes × {bellsPerBox} bells, {alarmCount} alarms at {alarmsPerSecond}/s per phase, a process down {downFor.TotalSeconds:F0} s before its restart, {Environment.ProcessorCount} cores");
        Console.WriteLine($"start {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {LoadAverage()}");
        // Single box: the Mosquitto endpoint, its site CA and every certificate from the cloud bridge's own commands.
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct,
        [
            "user " + ProbeA, "topic readwrite probe/#",
            "user " + ProbeB, "topic readwrite probe/#",
        ]);
        string[] gatewayIds = [.. Enumerable.Range(0, boxCount).Select(i => "gw-failover-" + i.ToString(CultureInfo.InvariantCulture))];
        var credentials = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string id in gatewayIds.Append(ProbeA).Append(ProbeB))
        {
            credentials[id] = await endpoint.IssueAsync(id, ct);
        }

        string operatorPassword = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

        // One cloud bridge on SQLite (the other boxes' harness bridges stay idle).
        await using (var single = await Rig.StartAsync(boxCount, i =>
        {
            var options = BoxOptions(gatewayIds[i], i, operatorPassword);
            Merge(options.GatewayEnvironment, endpoint.GatewayEnvironment(credentials[gatewayIds[i]], TimeSpan.FromSeconds(60)));
            if (i == 0)
            {
                Merge(options.CloudEnvironment, endpoint.BridgeEnvironment());
            }

            return options;
        }, (key, at) => _sent.TryAdd(key, at), ct))
        {
            await using MqttSession probePub = MqttSession.Create(SitesBenchmark.Probe(endpoint, credentials[ProbeA], "probe-a"));
            await using MqttSession probeSub = MqttSession.Create(SitesBenchmark.Probe(endpoint, credentials[ProbeB], "probe-b"));
            await MeasureSteadyAsync("single box: SQLite, one Mosquitto endpoint", single, single.Systems[0], probePub, probeSub, ct);
        }

        _sent.Clear();
        _seen.Clear();

        // High availability: PostgreSQL, and the cluster on the configuration and identities the cloud bridge's commands
        // write (its own site CA), with an identity of its own for each bridge instance.
        var started = Stopwatch.StartNew();
        await using PostgresServer postgres = await PostgresServer.StartAsync(ct);
        string database = await postgres.CreateDatabaseAsync("failover", ct);
        await using CloudEndpointCluster cluster = await CloudEndpointCluster.StartAsync(["a", "b"], ct);
        var clusterCredentials = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string id in gatewayIds.Append(ClusterProbe))
        {
            clusterCredentials[id] = await cluster.IssueAsync(id, ct);
        }

        Console.WriteLine($"PostgreSQL and {cluster.Cluster.Engine} (three nodes, TLS) serving after {started.Elapsed.TotalSeconds:F1} s");
        await using var ha = await Rig.StartAsync(boxCount, i =>
        {
            var options = BoxOptions(gatewayIds[i], i, operatorPassword);
            Merge(options.GatewayEnvironment, cluster.GatewayEnvironment(clusterCredentials[gatewayIds[i]], TimeSpan.FromSeconds(60)));
            if (i < 2)
            {
                // No share group: RabbitMQ 3.10 has no shared subscriptions, so each instance takes every envelope and the
                // store's key makes the second copy a repeat (docs/high-availability.md).
                Merge(options.CloudEnvironment, cluster.BridgeEnvironment(i == 0 ? "a" : "b"));
                options.CloudEnvironment["Storage__Provider"] = "PostgreSql";
                options.CloudEnvironment["Storage__ConnectionString"] = database;
            }

            return options;
        }, (key, at) =>
        {
            _sent.TryAdd(key, at);
            _haKeys.TryAdd(key, 0);
        }, ct);

        // The console watched is instance B's; instance A is the one killed.
        AnshimiSystem instanceA = ha.Systems[0];
        AnshimiSystem instanceB = ha.Systems[1];
        // The bare round trip over the cluster: the bridges' plain identity sends to a probe gateway's commands, which only
        // that gateway reads, through the same quorum queues as a receipt.
        MqttClientOptions publisher = cluster.Cluster.ClientOptions(ProbePublisherClientId);
        publisher.CleanSession = true;
        await using MqttSession clusterPub = MqttSession.Create(publisher);
        await using MqttSession clusterSub = MqttSession.Create(cluster.GatewayClientOptions(ClusterProbe, clusterCredentials[ClusterProbe], BrokerListeners.AccountClientId("gateway-" + ClusterProbe)));
        await MeasureSteadyAsync("high availability: PostgreSQL, RabbitMQ cluster, two bridge instances (console on B)", ha, instanceB, clusterPub, clusterSub, ct, Topics.GatewayCommands(ClusterProbe));

        await MeasureLossAsync("bridge instance A SIGKILLed, restarted after the pause", ha, instanceB, async () =>
        {
            instanceA.Cloud.Kill();
            await Task.Delay(downFor, ct);
            await instanceA.RestartAsync(instanceA.Cloud, ct);
        }, ct);

        // Every client's list starts at node 1: its loss moves all of them.
        await MeasureLossAsync("broker node 1 (every client's first) SIGKILLed, restarted after the pause", ha, instanceB, async () =>
        {
            await cluster.Cluster.KillNodeAsync(0);
            await Task.Delay(downFor, ct);
            await cluster.Cluster.StartNodeAsync(0, ct);
        }, ct);

        (int lost, int doubled) = await CountInDatabaseAsync(database, ct);
        _rows.Add($"| every alarm of the high-availability phases in PostgreSQL: lost / doubled | {lost} / {doubled} |");
        Console.WriteLine();
        Console.WriteLine("| measurement | result |");
        Console.WriteLine("| --- | --- |");
        foreach (string row in _rows)
        {
            Console.WriteLine(row);
        }

        Console.WriteLine();
        Console.WriteLine($"end {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {LoadAverage()}");
        return lost == 0 && doubled == 0 ? 0 : 1;
    }

    private AnshimiSystemOptions BoxOptions(string gatewayId, int box, string operatorPassword)
    {
        var options = new AnshimiSystemOptions { GatewayId = gatewayId, DeviceCount = bellsPerBox, Profiles = ["home"], Seed = box + 1, CloudOperatorPassword = operatorPassword };
        options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";

        // The outbox's installed timing (gateway/README.md), not the test harness's 1 s.
        options.GatewayEnvironment["Gateway__OutboxRetryInterval"] = "00:00:05";
        options.GatewayEnvironment["Gateway__OutboxRetryMaxInterval"] = "00:05:00";
        return options;
    }

    private async Task MeasureSteadyAsync(string setUp, Rig rig, AnshimiSystem console, MqttSession probePub, MqttSession probeSub, CancellationToken ct, string? probeTopic = null)
    {
        await probePub.ConnectAsync(ct);
        await probeSub.ConnectAsync(ct);
        Percentiles idle = await LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, 0, ct, probeTopic);
        await using var feed = await WatchAsync(console, ct);
        await rig.PressAsync(Math.Min(30, rig.Bells), alarmsPerSecond, ct);
        await WaitSeenAsync(TimeSpan.FromMinutes(1), "the warm-up alarms", ct);

        int pauseMs = (int)Math.Max(1, alarmCount / alarmsPerSecond * 1000 / 300);
        Task<Percentiles> loaded = LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, pauseMs, ct, probeTopic);
        DateTimeOffset from = DateTimeOffset.UtcNow;
        await rig.PressAsync(alarmCount, alarmsPerSecond, ct);
        Percentiles duringAlarms = await loaded;
        await WaitSeenAsync(TimeSpan.FromMinutes(3), "every alarm on the console", ct);
        _rows.Add($"| {setUp}: bare QoS 1 round trip over the endpoint, idle / during the alarms | {idle.Describe()} / {duringAlarms.Describe()} |");
        _rows.Add($"| {setUp}: press → console, steady | {Delays(from, DateTimeOffset.MaxValue).Describe()} |");
        _rows.Add($"| {setUp}: stages p50 press → stored by the gateway / → stored by a cloud bridge / → console (ms) | {Stages(from, DateTimeOffset.MaxValue)} |");
        Console.WriteLine(string.Join('\n', _rows.TakeLast(2)));
    }

    /// <summary>Presses <c>alarmCount</c> alarms; after a third of them <paramref name="fault"/> runs (kill, pause, restart).</summary>
    private async Task MeasureLossAsync(string what, Rig rig, AnshimiSystem console, Func<Task> fault, CancellationToken ct)
    {
        await using var feed = await WatchAsync(console, ct);
        DateTimeOffset from = DateTimeOffset.UtcNow;
        Task pressing = rig.PressAsync(alarmCount, alarmsPerSecond, ct);
        await Task.Delay(TimeSpan.FromSeconds(alarmCount / 3.0 / alarmsPerSecond), ct);
        DateTimeOffset killed = DateTimeOffset.UtcNow;
        await fault();
        DateTimeOffset back = DateTimeOffset.UtcNow;
        await pressing;
        TimeSpan limit = TimeSpan.FromMinutes(5);
        bool all = await TryWaitSeenAsync(limit, ct);
        Percentiles during = Delays(killed, back);
        int missing = _sent.Count(s => s.Value >= from && !_seen.ContainsKey(s.Key));
        _rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {what}: press → console of alarms raised from the kill until it served again ({(back - killed).TotalSeconds:F1} s) | {during.Describe()} |"));
        _rows.Add($"| {what}: stages p50 press → stored by the gateway / → stored by a cloud bridge / → console, of those alarms (ms) | {Stages(killed, back)} |");
        _rows.Add($"| {what}: press → console, the whole phase | {Delays(from, DateTimeOffset.MaxValue).Describe()} |");
        _rows.Add($"| {what}: alarms not on the console {(all ? "" : $"within {limit.TotalMinutes:F0} min ")}| {missing} |");
        Console.WriteLine(string.Join('\n', _rows.TakeLast(4)));
    }

    private Percentiles Delays(DateTimeOffset from, DateTimeOffset until) =>
        new(_sent.Where(s => s.Value >= from && s.Value <= until && _seen.ContainsKey(s.Key)).Select(s => (_seen[s.Key].Feed - s.Value).TotalMilliseconds));

    /// <summary>p50 and p99 of each stage, from the times the gateway and the cloud bridge stored with each alarm.</summary>
    private string Stages(DateTimeOffset from, DateTimeOffset until)
    {
        var alarms = _sent.Where(s => s.Value >= from && s.Value <= until && _seen.ContainsKey(s.Key)).Select(s => (Press: s.Value, Times: _seen[s.Key])).ToList();
        var toGateway = new Percentiles(alarms.Select(a => (a.Times.Gateway - a.Press).TotalMilliseconds));
        var toCloud = new Percentiles(alarms.Select(a => (a.Times.Cloud - a.Times.Gateway).TotalMilliseconds));
        var toFeed = new Percentiles(alarms.Select(a => (a.Times.Feed - a.Times.Cloud).TotalMilliseconds));
        return string.Create(CultureInfo.InvariantCulture,
            $"{toGateway[50]:F1} / {toCloud[50]:F1} / {toFeed[50]:F1}; p99 {toGateway[99]:F1} / {toCloud[99]:F1} / {toFeed[99]:F1}");
    }

    private async Task<Feed> WatchAsync(AnshimiSystem console, CancellationToken ct)
    {
        _feedReady = false;
        var stop = new CancellationTokenSource();
        Task watcher = LatencyBenchmark.WatchFeedAsync(console, () => _feedReady = true, (key, raised, received, now) => _seen.TryAdd(key, (raised, received, now)), stop.Token);
        await Wait.UntilAsync(() => _feedReady, TimeSpan.FromSeconds(30), "the live feed", ct);
        return new Feed(stop, watcher);
    }

    private async Task WaitSeenAsync(TimeSpan limit, string what, CancellationToken ct)
    {
        if (!await TryWaitSeenAsync(limit, ct))
        {
            throw new TimeoutException(what + " not on the console within " + limit);
        }
    }

    private async Task<bool> TryWaitSeenAsync(TimeSpan limit, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (!_sent.Keys.All(_seen.ContainsKey))
        {
            if (waited.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(100, ct);
        }

        return true;
    }

    /// <summary>Alarms pressed during the high-availability phases that the database lacks, and rows beyond one per press.</summary>
    private async Task<(int Lost, int Doubled)> CountInDatabaseAsync(string database, CancellationToken ct)
    {
        var stored = new List<string>();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT key FROM alarms", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            stored.Add(reader.GetString(0));
        }

        var storedKeys = stored.ToHashSet(StringComparer.Ordinal);
        // The single box's alarms are in its own SQLite files.
        string[] haKeys = [.. _haKeys.Keys];
        return (haKeys.Count(k => !storedKeys.Contains(k)), stored.Count - haKeys.Count(storedKeys.Contains));
    }

    private static void Merge(IDictionary<string, string> into, IReadOnlyDictionary<string, string> from)
    {
        foreach ((string key, string value) in from)
        {
            into[key] = value;
        }
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>The boxes of one set-up: each an <see cref="AnshimiSystem"/> with its bells in a device process of its own.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly List<AnshimiSystem> _systems = [];
        private readonly List<Process> _hosts = [];
        private int _next;

        public IReadOnlyList<AnshimiSystem> Systems => _systems;

        public int Bells => _systems.Sum(s => s.Fleet.Devices.Count);

        public static async Task<Rig> StartAsync(int boxes, Func<int, AnshimiSystemOptions> optionsFor, Action<string, DateTimeOffset> sent, CancellationToken ct)
        {
            var rig = new Rig();
            try
            {
                for (int box = 0; box < boxes; box++)
                {
                    rig._systems.Add(await AnshimiSystem.StartAsync(optionsFor(box), ct));
                }

                int ready = 0;
                foreach (AnshimiSystem system in rig._systems)
                {
                    rig._hosts.Add(LatencyBenchmark.StartHost(system.FleetPath, system.Broker, line =>
                    {
                        if (line == "READY")
                        {
                            Interlocked.Increment(ref ready);
                        }
                        else if (line.StartsWith("SENT ", StringComparison.Ordinal))
                        {
                            string[] parts = line.Split(' ');
                            sent(parts[1], new DateTimeOffset(long.Parse(parts[2], CultureInfo.InvariantCulture), TimeSpan.Zero));
                        }
                    }));
                }

                await Wait.UntilAsync(() => Volatile.Read(ref ready) == boxes || rig._hosts.Any(h => h.HasExited), TimeSpan.FromMinutes(5), "every box's bells connected", ct);
                if (Volatile.Read(ref ready) != boxes)
                {
                    throw new InvalidOperationException("a device host exited before it was ready");
                }

                return rig;
            }
            catch
            {
                await rig.DisposeAsync();
                throw;
            }
        }

        /// <summary>Presses the next <paramref name="count"/> bells, round robin over the boxes, at a steady rate.</summary>
        public Task PressAsync(int count, double alarmsPerSecond, CancellationToken ct)
        {
            int first = _next;
            _next += count;
            return LatencyBenchmark.PressAsync([.. Enumerable.Range(first, count).Select(i =>
                (_hosts[i % _hosts.Count], _systems[i % _systems.Count].Fleet.Devices[i / _systems.Count % _systems[i % _systems.Count].Fleet.Devices.Count].DeviceId))], alarmsPerSecond, ct);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (Process host in _hosts)
            {
                if (!host.HasExited)
                {
                    host.Kill();
                }

                host.Dispose();
            }

            foreach (AnshimiSystem system in _systems)
            {
                await system.DisposeAsync();
            }
        }
    }

    private sealed class Feed(CancellationTokenSource stop, Task watcher) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await watcher;
            stop.Dispose();
        }
    }
}
