using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Hal;
using Anshimi.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// Failover on real processes: one PostgreSQL, the cloud's MQTT endpoint, two cloud-bridge instances on that database,
/// and two gateway boxes with ten bells each. The 20 bells raise 200 alarms; an operator signed in to instance B watches
/// its live feed and acknowledges each alarm there. At a seeded random moment one server is SIGKILLed and started again a
/// few seconds later: instance A or PostgreSQL (on the Mosquitto endpoint, the instances in one share group), or one node
/// of the three-node RabbitMQ cluster. Each run prints its seed; <c>ANSHIMI_FAULT_SEED</c> replays the schedule.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Fault")]
public sealed class HighAvailabilityFaultTests(ITestOutputHelper output)
{
    private const int Boxes = 2;
    private const int BellsPerBox = 10;
    private const int PressesPerBell = 10;
    private const int Alarms = Boxes * BellsPerBox * PressesPerBell;

    /// <summary>The cloud-bridge instances, each with its own identity on the endpoint (<c>bridges issue</c>).</summary>
    private static readonly string[] Instances = ["a", "b"];

    /// <summary>How long one step of a bell's round (seen on the console, ack at the bell) may take, faults included.</summary>
    private static readonly TimeSpan StepWithin = TimeSpan.FromSeconds(90);

    /// <param name="server">
    /// <c>bridge-instance</c>: instance A (the console's instance B survives); <c>broker-node</c>: a node of the cluster,
    /// the first one gateways and instance A list; <c>database</c>: the PostgreSQL server with every backend.
    /// </param>
    [Theory]
    [InlineData("bridge-instance")]
    [InlineData("broker-node")]
    [InlineData("database")]
    public async Task A_server_killed_while_20_bells_raise_200_alarms_loses_and_doubles_none_and_the_surviving_console_sees_and_acks_every_one_to_its_bell(string server)
    {
        // A run takes 2.5–4.5 minutes; the bound leaves room for a machine loaded by other builds.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(7));
        CancellationToken ct = cts.Token;
        int seed = Environment.GetEnvironmentVariable("ANSHIMI_FAULT_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine("seed " + seed + " (ANSHIMI_FAULT_SEED reproduces the kill schedule)");
        var random = new Random(seed);

        await using PostgresServer database = await PostgresServer.StartAsync(ct);
        string connectionString = await database.CreateDatabaseAsync("ha", ct);
        // The broker run kills one node of the city's cluster; the others run on the Mosquitto endpoint, whose share group
        // splits the envelopes between the instances (RabbitMQ 3.10 has no shared subscriptions: each instance takes all).
        await using CloudLink endpoint = server == "broker-node"
            ? CloudLink.Of(await CloudEndpointCluster.StartAsync(Instances, ct), random.Next(MqttCluster.NodeCount))
            : CloudLink.Of(await CloudEndpoint.StartAsync(ct, bridgeInstances: Instances));
        output.WriteLine("cloud endpoint: " + endpoint.Name);
        var boxes = new List<AnshimiSystem>();
        var fleets = new List<SimulatedFleet>();
        using var log = new StringWriter();
        TextWriter fleetLog = TextWriter.Synchronized(log);
        ConsoleFeed? console = null;
        try
        {
            string operatorPassword = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));
            for (int box = 0; box < Boxes; box++)
            {
                boxes.Add(await StartBoxAsync(endpoint, connectionString, operatorPassword, box, ct));
            }

            AnshimiSystem instanceA = boxes[0];
            AnshimiSystem instanceB = boxes[1];
            console = await ConsoleFeed.OpenAsync(instanceB, ct);
            using HttpClient operatorOnB = AnshimiSystem.CloudClient(TimeSpan.FromSeconds(60));
            await instanceB.SignInAsync(operatorOnB, ct);

            foreach (AnshimiSystem box in boxes)
            {
                fleets.Add(await Fleet.StartAsync(box, fleetLog, ct));
            }

            SimulatedDevice[] bells = [.. fleets.SelectMany(f => f.Devices)];
            Assert.Equal(Alarms / PressesPerBell, bells.Length);
            Assert.Equal(bells.Length, bells.Select(b => b.Record.DeviceId).Distinct(StringComparer.Ordinal).Count());

            Victim victim = server switch
            {
                "bridge-instance" => new Victim("cloud-bridge instance a", () => Task.Run(instanceA.Cloud.Kill, ct), () => instanceA.RestartAsync(instanceA.Cloud, ct)),
                "broker-node" => new Victim(endpoint.NodeName, endpoint.KillNode, () => endpoint.StartNode(ct)),
                "database" => new Victim("PostgreSQL", () => database.KillAsync(ct), () => database.RestartAsync(ct)),
                _ => throw new ArgumentOutOfRangeException(nameof(server), server, "unknown server"),
            };

            // The moment: after a random share of the alarms was raised, so it falls mid-stream however fast the machine is.
            int killAfter = random.Next(Alarms / 5, Alarms * 3 / 5);
            TimeSpan downFor = TimeSpan.FromMilliseconds(random.Next(2000, 5000));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{victim.Name} SIGKILLed after alarm {killAfter}, started again {downFor.TotalSeconds:0.0} s later"));

            var run = new Run();
            // In a share group both instances take a share of the gateways' envelopes, so the one that dies holds some in flight.
            Task<FaultWindow> fault = KillOnceAsync(victim, run, killAfter, downFor, async () =>
            {
                long storedByA = await AlarmsStoredAsync(instanceA, ct);
                long storedByB = await AlarmsStoredAsync(instanceB, ct);
                output.WriteLine("at the kill instance a had stored " + storedByA + " alarms, instance b " + storedByB);
                Assert.True(endpoint.ShareGroup is null || (storedByA > 0 && storedByB > 0), "the share group split nothing: a stored " + storedByA + ", b " + storedByB);
            }, ct);
            await Task.WhenAll(bells.Select((bell, i) => RaiseAndAcknowledgeAsync(bell, console, operatorOnB, instanceB.CloudUri, run, new Random(seed + i + 1), ct)));
            FaultWindow window = await fault;

            (string Key, DateTimeOffset At)[] raised = [.. run.Raised];
            (string Key, DateTimeOffset At)[] acks = [.. run.AcksSent];
            int raisedDuring = raised.Count(r => window.Contains(r.At));
            int acksDuring = acks.Count(a => window.Contains(a.At));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{victim.Name} down {(window.Restarted - window.Killed).TotalSeconds:0.0} s (kill to serving again); alarms raised meanwhile {raisedDuring}, acks sent meanwhile {acksDuring}; ack requests repeated after a failure: {run.AckRetries}; console reconnects: {console.Reconnects}"));
            Assert.True(raisedDuring > 0, "no alarm was raised while " + victim.Name + " was down");
            Assert.True(acksDuring > 0, "no ack was sent while " + victim.Name + " was down");

            HashSet<string> expected = [.. raised.Select(r => r.Key)];
            Assert.Equal(Alarms, expected.Count);
            Assert.All(bells, bell => Assert.Equal(PressesPerBell, bell.Bell.AlarmsRaised));
            Assert.All(bells, bell => Assert.Equal(0, bell.Bell.PendingAlarmCount));

            // The gateways report each relay to the device; those reports are what settle the ack outbox.
            await Fleet.Until(async () => await UnrelayedAcksAsync(connectionString, ct) == 0, TimeSpan.FromSeconds(60), "every ack's relay reported by its gateway", ct);

            // Let late resends of alarms and acks land, then count: nothing may be doubled.
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            StoredAlarms stored = await ReadStoredAlarmsAsync(connectionString, ct);
            Assert.Equal(Alarms, stored.Rows);
            Assert.Equal(expected.Order(StringComparer.Ordinal), stored.Keys.Order(StringComparer.Ordinal));
            Assert.All(expected, key => Assert.Equal(1, stored.Received.GetValueOrDefault(key)));
            Assert.All(expected, key => Assert.Equal(1, stored.Acknowledged.GetValueOrDefault(key)));
            Assert.All(expected, key => Assert.Contains(key, stored.AcksRelayed));

            HashSet<string> seenLive = [.. console.Events.Items.Where(e => e.Key is not null).Select(e => e.Key!)];
            Assert.Empty(expected.Except(seenLive));
        }
        finally
        {
            if (console is not null)
            {
                await console.DisposeAsync();
            }

            foreach (SimulatedFleet fleet in fleets)
            {
                await fleet.DisposeAsync();
            }

            output.WriteLine(log.ToString());
            foreach (AnshimiSystem box in boxes)
            {
                output.WriteLine("==== " + box.Fleet.GatewayId + " gateway\n" + box.Gateway.ReadLog());
                output.WriteLine("==== " + box.Fleet.GatewayId + " cloud-bridge instance\n" + box.Cloud.ReadLog());
            }

            foreach (AnshimiSystem box in boxes)
            {
                await box.DisposeAsync();
            }
        }
    }

    /// <summary>Box <paramref name="box"/>: its broker, gateway and ten bells, and cloud-bridge instance a or b on the shared database.</summary>
    private static async Task<AnshimiSystem> StartBoxAsync(CloudLink endpoint, string connectionString, string operatorPassword, int box, CancellationToken ct)
    {
        string instance = Instances[box];
        string gatewayId = "gw-ha-" + instance;
        string credentials = await endpoint.IssueAsync(gatewayId, ct);
        var options = new AnshimiSystemOptions
        {
            GatewayId = gatewayId, DeviceCount = BellsPerBox, Profiles = ["home"], Seed = box + 1, CloudOperatorPassword = operatorPassword,
        };
        foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials))
        {
            options.GatewayEnvironment[key] = value;
        }

        options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";
        // The instance id and the client id come from the instance's certificate.
        foreach ((string key, string value) in endpoint.BridgeEnvironment(instance, box))
        {
            options.CloudEnvironment[key] = value;
        }

        options.CloudEnvironment["Storage__Provider"] = "PostgreSql";
        options.CloudEnvironment["Storage__ConnectionString"] = connectionString;
        if (endpoint.ShareGroup is { } group)
        {
            options.CloudEnvironment["CloudBridge__IngressShareGroup"] = group;
        }

        return await AnshimiSystem.StartAsync(options, ct);
    }

    /// <summary>
    /// One bell's ten rounds: press, wait until the console on B shows the alarm, acknowledge it there after a moment's
    /// reading, and wait until the bell's LED says "acknowledged" for that very alarm before the next press.
    /// </summary>
    private static async Task RaiseAndAcknowledgeAsync(
        SimulatedDevice bell, ConsoleFeed console, HttpClient operatorOnB, Uri instanceB, Run run, Random random, CancellationToken ct)
    {
        for (int i = 0; i < PressesPerBell; i++)
        {
            await Task.Delay(random.Next(200, 1500), ct);
            int raised = bell.Bell.AlarmsRaised;
            bell.Button.Press(250);
            await Fleet.Until(() => bell.Bell.AlarmsRaised > raised, TimeSpan.FromSeconds(10), "press registered on " + bell.Record.DeviceId, ct);
            uint counter = bell.Bell.NewestAlarmCounter;
            string key = bell.Record.DeviceId + ":" + counter.ToString(CultureInfo.InvariantCulture);
            run.AlarmRaised(key);

            await console.Events.WaitForAsync(e => e.Key == key, StepWithin, cancellationToken: ct);
            await Task.Delay(random.Next(200, 2000), ct);
            await AcknowledgeAsync(operatorOnB, instanceB, key, run, ct);
            await Fleet.Until(
                () => bell.Bell.NewestAlarmCounter == counter && bell.Bell.LedState == LedState.Acknowledged,
                StepWithin, "the LED of " + bell.Record.DeviceId + " acknowledged for " + key, ct);
        }
    }

    /// <summary>확인 on instance B; a request the fault cut off is sent again, as an operator clicks again.</summary>
    private static async Task AcknowledgeAsync(HttpClient operatorOnB, Uri instanceB, string key, Run run, CancellationToken ct)
    {
        run.AckSent(key);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using HttpResponseMessage response = await operatorOnB.PostAsync(new Uri(instanceB, "api/alarms/" + key + "/ack"), null, ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                string body = await response.Content.ReadAsStringAsync(ct);
                if ((int)response.StatusCode < 500 || attempt >= 5)
                {
                    throw new InvalidOperationException("ack of " + key + " answered " + (int)response.StatusCode + ": " + body);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested && attempt < 5)
            {
            }

            Interlocked.Increment(ref run.AckRetries);
            await Task.Delay(1000, ct);
        }
    }

    private static async Task<FaultWindow> KillOnceAsync(Victim victim, Run run, int killAfter, TimeSpan downFor, Func<Task> beforeKill, CancellationToken ct)
    {
        await Fleet.Until(() => run.Raised.Count >= killAfter, TimeSpan.FromSeconds(120), killAfter + " alarms raised", ct);
        await beforeKill();
        DateTimeOffset killed = DateTimeOffset.UtcNow;
        await victim.Kill();
        await Task.Delay(downFor, ct);
        await victim.Restart();
        return new FaultWindow(killed, DateTimeOffset.UtcNow);
    }

    /// <summary>The alarms this instance stored itself since it started (<c>/api/status</c>).</summary>
    private static async Task<long> AlarmsStoredAsync(AnshimiSystem instance, CancellationToken ct) =>
        (await instance.Http.GetFromJsonAsync<JsonElement>(new Uri(instance.CloudUri, "api/status"), ct)).GetProperty("alarmsStored").GetInt64();

    private static async Task<long> UnrelayedAcksAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM ack_outbox WHERE relayed_at IS NULL", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>What the shared database holds, read through its own schema rather than any instance's API.</summary>
    private static async Task<StoredAlarms> ReadStoredAlarmsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        var keys = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT key FROM alarms WHERE test = 0", connection))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                keys.Add(reader.GetString(0));
            }
        }

        var received = new Dictionary<string, int>(StringComparer.Ordinal);
        var acknowledged = new Dictionary<string, int>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT alarm_key, stage, count(*) FROM timeline WHERE stage IN ('received', 'acknowledged') GROUP BY alarm_key, stage", connection))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                (reader.GetString(1) == "received" ? received : acknowledged)[reader.GetString(0)] = (int)reader.GetInt64(2);
            }
        }

        var relayed = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT alarm_key FROM ack_outbox WHERE stage = 'acknowledged' AND relayed_at IS NOT NULL", connection))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                relayed.Add(reader.GetString(0));
            }
        }

        return new StoredAlarms(keys.Count, [.. keys], received, acknowledged, relayed);
    }

    private sealed record StoredAlarms(int Rows, HashSet<string> Keys, Dictionary<string, int> Received, Dictionary<string, int> Acknowledged, HashSet<string> AcksRelayed);

    /// <summary>
    /// The cloud's MQTT endpoint of a run: the Mosquitto endpoint with the instances in one share group, or the
    /// three-node RabbitMQ cluster with one node to kill, where instance a lists that node first and instance b the next.
    /// </summary>
    private sealed class CloudLink : IAsyncDisposable
    {
        private CloudEndpoint? _mosquitto;
        private CloudEndpointCluster? _cluster;
        private int _node;

        public string Name => _cluster is null ? "Mosquitto (share group)" : _cluster.Cluster.Engine + ", three nodes";

        public string NodeName => _cluster is null ? "endpoint broker" : "broker node " + (_node + 1);

        public string? ShareGroup => _cluster is null ? "bridges" : null;

        public static CloudLink Of(CloudEndpoint mosquitto) => new() { _mosquitto = mosquitto };

        public static CloudLink Of(CloudEndpointCluster cluster, int node) => new() { _cluster = cluster, _node = node };

        public Task<string> IssueAsync(string gatewayId, CancellationToken ct) =>
            _cluster?.IssueAsync(gatewayId, ct) ?? _mosquitto!.IssueAsync(gatewayId, ct);

        /// <summary>A gateway lists every node, the one to be killed first.</summary>
        public IReadOnlyDictionary<string, string> GatewayEnvironment(string credentials)
        {
            if (_cluster is null)
            {
                return _mosquitto!.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60));
            }

            var environment = new Dictionary<string, string>(_cluster.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60)), StringComparer.Ordinal);
            environment["Cloud__Url"] = string.Join(',', Enumerable.Range(0, MqttCluster.NodeCount)
                .Select(i => "mqtts://" + _cluster.Cluster.Endpoints[(_node + i) % MqttCluster.NodeCount]));
            return environment;
        }

        public IReadOnlyDictionary<string, string> BridgeEnvironment(string instance, int box) =>
            _cluster?.BridgeEnvironment(instance, (_node + box) % MqttCluster.NodeCount) ?? _mosquitto!.BridgeEnvironment(instance);

        public Task KillNode() => _cluster?.Cluster.KillNodeAsync(_node) ?? _mosquitto!.Broker.KillAsync();

        public Task StartNode(CancellationToken ct) => _cluster?.Cluster.StartNodeAsync(_node, ct) ?? _mosquitto!.Broker.StartAsync(ct);

        public async ValueTask DisposeAsync()
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }

            if (_mosquitto is not null)
            {
                await _mosquitto.DisposeAsync();
            }
        }
    }

    private sealed record Victim(string Name, Func<Task> Kill, Func<Task> Restart);

    private sealed record FaultWindow(DateTimeOffset Killed, DateTimeOffset Restarted)
    {
        public bool Contains(DateTimeOffset at) => at >= Killed && at <= Restarted;
    }

    /// <summary>What the bells and the operator did, and when.</summary>
    private sealed class Run
    {
        public int AckRetries;

        public System.Collections.Concurrent.ConcurrentQueue<(string Key, DateTimeOffset At)> Raised { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<(string Key, DateTimeOffset At)> AcksSent { get; } = new();

        public void AlarmRaised(string key) => Raised.Enqueue((key, DateTimeOffset.UtcNow));

        public void AckSent(string key) => AcksSent.Enqueue((key, DateTimeOffset.UtcNow));
    }

    private sealed record ConsoleEvent(string Kind, string? Key);

    /// <summary>
    /// The live feed the console reads (<c>/api/alarms/stream</c>), signed in as central staff, reconnecting as the
    /// browser's EventSource does (after the 2 s the stream asks for).
    /// </summary>
    private sealed class ConsoleFeed : IAsyncDisposable
    {
        private readonly HttpClient _http;
        private readonly CancellationTokenSource _stop = new();
        private Task _reading = Task.CompletedTask;
        private int _connects;

        private ConsoleFeed(HttpClient http) => _http = http;

        public EventRecorder<ConsoleEvent> Events { get; } = new();

        public int Reconnects => Math.Max(0, Volatile.Read(ref _connects) - 1);

        public static async Task<ConsoleFeed> OpenAsync(AnshimiSystem instance, CancellationToken ct)
        {
            HttpClient http = AnshimiSystem.CloudClient(Timeout.InfiniteTimeSpan);
            await instance.SignInAsync(http, ct);
            var feed = new ConsoleFeed(http);
            feed._reading = feed.ReadAsync(new Uri(instance.CloudUri, "api/alarms/stream"));
            await feed.Events.WaitForAsync(e => e.Kind == "ready", TimeSpan.FromSeconds(30), cancellationToken: ct);
            return feed;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading;
            _http.Dispose();
            _stop.Dispose();
        }

        private async Task ReadAsync(Uri stream)
        {
            CancellationToken ct = _stop.Token;
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    using HttpResponseMessage response = await _http.GetAsync(stream, HttpCompletionOption.ResponseHeadersRead, ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref _connects);
                        await using Stream body = await response.Content.ReadAsStreamAsync(ct);
                        await foreach (SseItem<string> item in SseParser.Create(body).EnumerateAsync(ct))
                        {
                            if (item.EventType != "ping")
                            {
                                string? key = item.EventType is "alarm" or "alarm-updated"
                                    ? JsonDocument.Parse(item.Data).RootElement.GetProperty("key").GetString()
                                    : null;
                                Events.Add(new ConsoleEvent(item.EventType, key));
                            }
                        }
                    }

                    Events.Add(new ConsoleEvent("closed " + (int)response.StatusCode, null));
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    Events.Add(new ConsoleEvent("failed " + ex.Message, null));
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
