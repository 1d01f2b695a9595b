using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Anshimi.CloudBridge.Sites;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Npgsql;

namespace Anshimi.Bench;

/// <summary>
/// The city's load on the cloud: many gateways' envelopes (protocol/README.md §5) against two cloud-bridge instances
/// on one PostgreSQL database, sharing the Mosquitto endpoint's events through one share group. The gateways are
/// simulated at the envelope level: one real MQTT session per gateway on the TLS endpoint under its own certificate
/// (issued by the site CA the cloud bridge's commands made), each device bound with its own frame key and every alarm a
/// frame signed with that key, which the cloud verifies. Prints each instance's CPU and peak RSS, the database's
/// growth per day, send → console latency of the alarms under that load and any alarm lost or doubled.
/// </summary>
internal sealed class CityBenchmark(int gatewayCount, int devicesPerGateway, TimeSpan duration, double alarmsPerSecond, TimeSpan statusInterval)
{
    private const string ProbeA = "gw-probe-a";
    private const string ProbeB = "gw-probe-b";
    private const string ShareGroup = "bridges";
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstResend = TimeSpan.FromSeconds(5);

    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private readonly ConcurrentDictionary<string, byte> _bound = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingAlarm> _alarms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _receipts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _announced = new(StringComparer.Ordinal);
    private long _published;
    private long _publishFailures;
    private long _resent;
    private volatile bool _feedReady;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        int devices = gatewayCount * devicesPerGateway;
        Console.WriteLine($"city: {gatewayCount} gateways × {devicesPerGateway} devices = {devices}, device status every {statusInterval.TotalSeconds:F0} s, gateway heartbeat every {HeartbeatInterval.TotalSeconds:F0} s, {alarmsPerSecond} alarms/s, {duration.TotalSeconds:F0} s measured, two bridge instances on PostgreSQL, {Environment.ProcessorCount} cores");
        Console.WriteLine($"start {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {FailoverBenchmark.LoadAverage()}");
        // Each instance with its own identity (bridges issue), which the configuration endpoint config writes gives the bridge's rights.
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct, ["user " + ProbeA, "topic readwrite probe/#", "user " + ProbeB, "topic readwrite probe/#"], ["a", "b"]);

        // Hundreds of certificates: issued in this process by the site CA `endpoint init` made, as `gateways issue` does.
        var issuing = Stopwatch.StartNew();
        var authority = new SiteAuthority(endpoint.CertificateDirectory, new SiteAuthorityOptions(), TimeProvider.System);
        string Issue(string id)
        {
            string directory = Path.Combine(endpoint.Directory, "boxes", id);
            authority.IssueGateway(id, directory);
            return directory;
        }

        var gateways = Enumerable.Range(0, gatewayCount).Select(g => SimulatedGateway.Create(g, devicesPerGateway)).ToList();
        var credentials = gateways.ToDictionary(g => g.Id, g => Issue(g.Id), StringComparer.Ordinal);
        string probeA = Issue(ProbeA);
        string probeB = Issue(ProbeB);
        Console.WriteLine($"{gatewayCount + 2} certificates issued in {issuing.Elapsed.TotalSeconds:F1} s");

        await using PostgresServer postgres = await PostgresServer.StartAsync(ct);
        string database = await postgres.CreateDatabaseAsync("city", ct);
        string operatorPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

        // Each instance is the cloud bridge of a harness system whose own box (one device, its Mosquitto and gateway) stays
        // off the endpoint and idle.
        AnshimiSystemOptions InstanceOptions(string instance)
        {
            var options = new AnshimiSystemOptions { GatewayId = "gw-idle-" + instance, DeviceCount = 1, Profiles = ["home"], CloudOperatorPassword = operatorPassword };
            foreach ((string key, string value) in endpoint.BridgeEnvironment(instance))
            {
                options.CloudEnvironment[key] = value;
            }

            options.CloudEnvironment["Storage__Provider"] = "PostgreSql";
            options.CloudEnvironment["Storage__ConnectionString"] = database;
            options.CloudEnvironment["CloudBridge__IngressShareGroup"] = ShareGroup;
            return options;
        }

        await using AnshimiSystem instanceA = await AnshimiSystem.StartAsync(InstanceOptions("a"), ct);
        await using AnshimiSystem instanceB = await AnshimiSystem.StartAsync(InstanceOptions("b"), ct);
        Console.WriteLine($"PostgreSQL, the endpoint and both instances up; load average {FailoverBenchmark.LoadAverage()}");

        try
        {
            var connecting = Stopwatch.StartNew();
            foreach (SimulatedGateway[] batch in gateways.Chunk(20))
            {
                await Task.WhenAll(batch.Select(g => g.ConnectAsync(endpoint, credentials[g.Id], OnCommand, ct)));
            }

            Console.WriteLine($"{gatewayCount} gateway sessions connected over TLS in {connecting.Elapsed.TotalSeconds:F1} s");

            // As a box does before a device's first status: bind every device, re-sending what is not receipted.
            var binding = Stopwatch.StartNew();
            while (_bound.Count < devices)
            {
                IEnumerable<(SimulatedGateway Gateway, Envelope Envelope)> unbound = gateways.SelectMany(g => g.Devices
                    .Where(d => !_bound.ContainsKey(d.Id))
                    .Select(d => (g, (Envelope)new DeviceBoundEnvelope(g.Id, d.Id, "home", d.Site, Convert.ToHexString(d.Key)))));
                await PaceAsync(unbound.ToList(), 1000, ct);
                var round = Stopwatch.StartNew();
                while (_bound.Count < devices && round.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(200, ct);
                }

                if (binding.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new TimeoutException($"only {_bound.Count} of {devices} devices bound after 10 min");
                }
            }

            Console.WriteLine($"{devices} devices bound in {binding.Elapsed.TotalSeconds:F1} s; load average {FailoverBenchmark.LoadAverage()}");

            await using MqttSession probePub = MqttSession.Create(SitesBenchmark.Probe(endpoint, probeA, "probe-a"));
            await using MqttSession probeSub = MqttSession.Create(SitesBenchmark.Probe(endpoint, probeB, "probe-b"));
            await probePub.ConnectAsync(ct);
            await probeSub.ConnectAsync(ct);
            Percentiles idleRtt = await LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, 0, ct);

            using var feed = new CancellationTokenSource();
            Task watcher = LatencyBenchmark.WatchFeedAsync(instanceB, () => _feedReady = true, (key, _, _, now) =>
            {
                _seen.TryAdd(key, now);
                _announced.AddOrUpdate(key, 1, (_, n) => n + 1);
            }, feed.Token);
            await Wait.UntilAsync(() => _feedReady, TimeSpan.FromSeconds(30), "instance B's live feed", ct);

            long sizeBefore = await DatabaseSizeAsync(database, ct);
            int pidA = instanceA.Cloud.ProcessId ?? throw new InvalidOperationException("instance A is not running");
            int pidB = instanceB.Cloud.ProcessId ?? throw new InvalidOperationException("instance B is not running");
            var cpuA = new CpuShare(pidA.ToString(CultureInfo.InvariantCulture));
            var cpuB = new CpuShare(pidB.ToString(CultureInfo.InvariantCulture));
            var cpuSelf = new CpuShare("self");
            var machine = new CpuShare(pidA.ToString(CultureInfo.InvariantCulture), pidB.ToString(CultureInfo.InvariantCulture));
            var window = Stopwatch.StartNew();
            int pauseMs = (int)Math.Max(1, duration.TotalMilliseconds / 300);
            Task<Percentiles> loadedRtt = LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, pauseMs, ct);
            (int statuses, int changes, int heartbeats, TimeSpan offered) = await RunLoadAsync(gateways, ct);
            Percentiles rttUnderLoad = await loadedRtt;
            var settling = Stopwatch.StartNew();
            while ((_alarms.Keys.Any(k => !_receipts.ContainsKey(k)) || _alarms.Keys.Any(k => !_seen.ContainsKey(k))) && settling.Elapsed < TimeSpan.FromMinutes(3))
            {
                await Task.Delay(200, ct);
            }

            // Taken once the instances have worked off what the window offered (or given up waiting for it).
            TimeSpan measured = window.Elapsed;
            string cpuUsedA = cpuA.Describe();
            string cpuUsedB = cpuB.Describe();
            string cpuUsedSelf = cpuSelf.Describe();
            string machineUsed = machine.DescribeAgainstMachine();
            long sizeAfter = await DatabaseSizeAsync(database, ct);

            await feed.CancelAsync();
            await watcher;
            (int lost, int doubled, int stored) = await CountAlarmsAsync(database, ct);

            var sendToConsole = new Percentiles(_alarms.Where(a => _seen.ContainsKey(a.Key)).Select(a => (_seen[a.Key] - a.Value.FirstSent).TotalMilliseconds));
            // Everything offered in the window is stored by the end of the drain, so the growth belongs to the offered time.
            double perDay = (sizeAfter - sizeBefore) / offered.TotalDays;
            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| offered during {offered.TotalSeconds:F0} s (then {(measured - offered).TotalSeconds:F0} s until every alarm was receipted and on the console): device status (of which changes) / gateway heartbeats / alarms | {statuses} ({changes}) / {heartbeats} / {_alarms.Count} |");
            Console.WriteLine($"| envelopes published / failed to publish | {Interlocked.Read(ref _published)} / {Interlocked.Read(ref _publishFailures)} |");
            Console.WriteLine($"| bare QoS 1 round trip over the endpoint, idle / under the load | {idleRtt.Describe()} / {rttUnderLoad.Describe()} |");
            Console.WriteLine($"| alarm sent by its gateway → on instance B's console | {sendToConsole.Describe()} |");
            Console.WriteLine($"| alarms receipted / on the console / stored / resent for a late receipt | {_receipts.Count} / {_seen.Count(s => _alarms.ContainsKey(s.Key))} / {stored} / {Interlocked.Read(ref _resent)} |");
            Console.WriteLine($"| alarms lost (not in the database) / doubled (rows beyond one per alarm) / announced twice on B's console | {lost} / {doubled} / {_announced.Count(a => a.Value > 1)} |");
            Console.WriteLine($"| CPU over the window and the drain ({measured.TotalSeconds:F0} s): instance A / instance B / the simulated gateways' process | {cpuUsedA} / {cpuUsedB} / {cpuUsedSelf} |");
            Console.WriteLine($"| CPU over the window and the drain: both instances, and the machine | {machineUsed} |");
            Console.WriteLine($"| peak RSS (VmHWM): instance A / instance B | {Mb(instanceA.Cloud.PeakResidentBytes())} / {Mb(instanceB.Cloud.PeakResidentBytes())} |");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| PostgreSQL database size before → after the drain, growth per day at the offered rate | {sizeBefore / 1048576.0:F1} MB → {sizeAfter / 1048576.0:F1} MB, {perDay / 1073741824.0:F2} GB/day |"));
            Console.WriteLine();
            Console.WriteLine($"end {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {FailoverBenchmark.LoadAverage()}");
            return lost == 0 && doubled == 0 ? 0 : 1;
        }
        finally
        {
            foreach (SimulatedGateway gateway in gateways)
            {
                await gateway.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The measured window: every device's status once per status interval (one in fifty a change), each gateway's
    /// heartbeat, and alarms at the given rate on random devices, all spread over 100 ms ticks; alarms without a receipt
    /// are sent again after 5 s, doubling, as a gateway's outbox does.
    /// </summary>
    private async Task<(int Statuses, int Changes, int Heartbeats, TimeSpan Offered)> RunLoadAsync(List<SimulatedGateway> gateways, CancellationToken ct)
    {
        var random = new Random(20);
        (SimulatedGateway Gateway, SimulatedDevice Device)[] all = [.. gateways.SelectMany(g => g.Devices.Select(d => (g, d)))];
        random.Shuffle(all);
        TimeSpan tick = TimeSpan.FromMilliseconds(100);
        double statusesPerTick = all.Length * tick.TotalSeconds / statusInterval.TotalSeconds;
        double heartbeatsPerTick = gateways.Count * tick.TotalSeconds / HeartbeatInterval.TotalSeconds;
        double alarmsPerTick = alarmsPerSecond * tick.TotalSeconds;
        double statusDue = 0, heartbeatDue = 0, alarmDue = 0;
        int statusNext = 0, heartbeatNext = 0, statuses = 0, changes = 0, heartbeats = 0;
        var clock = Stopwatch.StartNew();
        for (long n = 1; clock.Elapsed < duration; n++)
        {
            DateTimeOffset now = DateTimeOffset.UtcNow;
            for (statusDue += statusesPerTick; statusDue >= 1; statusDue--)
            {
                (SimulatedGateway gateway, SimulatedDevice device) = all[statusNext++ % all.Length];
                if (random.Next(50) == 0)
                {
                    device.LowBattery = !device.LowBattery;
                    changes++;
                }

                device.BatteryPercent = device.LowBattery ? 15 : 80;
                Publish(gateway, new DeviceStatusEnvelope(gateway.Id, device.Id, "home", device.Site, null,
                    new DeviceHealth(false, device.LowBattery, false, false, false, device.BatteryPercent), now, now), ct);
                statuses++;
            }

            for (heartbeatDue += heartbeatsPerTick; heartbeatDue >= 1; heartbeatDue--)
            {
                SimulatedGateway gateway = gateways[heartbeatNext++ % gateways.Count];
                Publish(gateway, new GatewayHeartbeatEnvelope(gateway.Id, now, gateway.Devices.Count(d => _alarms.TryGetValue(d.LastKey, out _) && !_receipts.ContainsKey(d.LastKey))), ct);
                heartbeats++;
            }

            for (alarmDue += alarmsPerTick; alarmDue >= 1; alarmDue--)
            {
                (SimulatedGateway gateway, SimulatedDevice device) = all[random.Next(all.Length)];
                uint counter = ++device.Counter;
                byte[] frame = _codec.Encode(Frame.Alarm(device.NumericId, counter, 120, 1, 1), device.Key);
                string key = new AlarmKey(device.NumericId, counter).ToString();
                device.LastKey = key;
                var envelope = new AlarmEnvelope(key, gateway.Id, device.Id, counter, new ContactIdEvent(120, 1, 1), "home", device.Site, false, now, Convert.ToHexString(frame));
                _alarms[key] = new PendingAlarm(gateway, envelope, now) { Due = now + FirstResend, Wait = FirstResend };
                Publish(gateway, envelope, ct);
            }

            ResendDue(now, ct);
            TimeSpan next = tick * n - clock.Elapsed;
            if (next > TimeSpan.Zero)
            {
                await Task.Delay(next, ct);
            }
        }

        TimeSpan offered = clock.Elapsed;

        // Resends continue until every alarm is receipted.
        var settling = Stopwatch.StartNew();
        while (_alarms.Keys.Any(k => !_receipts.ContainsKey(k)) && settling.Elapsed < TimeSpan.FromMinutes(3))
        {
            ResendDue(DateTimeOffset.UtcNow, ct);
            await Task.Delay(tick, ct);
        }

        return (statuses, changes, heartbeats, offered);
    }

    private void ResendDue(DateTimeOffset now, CancellationToken ct)
    {
        foreach ((string key, PendingAlarm alarm) in _alarms)
        {
            if (alarm.Due <= now && !_receipts.ContainsKey(key))
            {
                alarm.Wait = TimeSpan.FromTicks(Math.Min(alarm.Wait.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
                alarm.Due = now + alarm.Wait;
                Interlocked.Increment(ref _resent);
                Publish(alarm.Gateway, alarm.Envelope, ct);
            }
        }
    }

    private void Publish(SimulatedGateway gateway, Envelope envelope, CancellationToken ct)
    {
        Task publish = gateway.Session.PublishAsync(Topics.GatewayEvents(gateway.Id), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, false, ct);
        _ = publish.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    Interlocked.Increment(ref _published);
                }
                else
                {
                    Interlocked.Increment(ref _publishFailures);
                }
            },
            TaskScheduler.Default);
    }

    private async Task PaceAsync(IReadOnlyList<(SimulatedGateway Gateway, Envelope Envelope)> envelopes, double perSecond, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < envelopes.Count; i++)
        {
            TimeSpan due = TimeSpan.FromSeconds(i / perSecond);
            if (clock.Elapsed < due)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }

            Publish(envelopes[i].Gateway, envelopes[i].Envelope, ct);
        }
    }

    private Task OnCommand(MqttMessage message, CancellationToken ct)
    {
        if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
        {
            switch (envelope)
            {
                case AlarmReceiptEnvelope receipt:
                    _receipts.AddOrUpdate(receipt.Key, 1, (_, n) => n + 1);
                    break;
                case DeviceBoundReceiptEnvelope bound:
                    _bound.TryAdd(bound.DeviceId, 0);
                    break;
            }
        }

        return Task.CompletedTask;
    }

    private static async Task<long> DatabaseSizeAsync(string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Alarms sent that the database lacks, rows beyond one per alarm sent, and the rows stored.</summary>
    private async Task<(int Lost, int Doubled, int Stored)> CountAlarmsAsync(string database, CancellationToken ct)
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

        var keys = stored.ToHashSet(StringComparer.Ordinal);
        int found = _alarms.Keys.Count(keys.Contains);
        return (_alarms.Count - found, stored.Count - found, stored.Count);
    }

    private static string Mb(long? bytes) => bytes is null ? "n/a" : (bytes.Value / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    private sealed class PendingAlarm(SimulatedGateway gateway, AlarmEnvelope envelope, DateTimeOffset firstSent)
    {
        public SimulatedGateway Gateway { get; } = gateway;

        public AlarmEnvelope Envelope { get; } = envelope;

        public DateTimeOffset FirstSent { get; } = firstSent;

        public DateTimeOffset Due { get; set; }

        public TimeSpan Wait { get; set; }
    }

    private sealed class SimulatedDevice(uint id, byte[] key, SiteInfo site)
    {
        public uint NumericId { get; } = id;

        public string Id { get; } = DeviceIdText.Format(id);

        public byte[] Key { get; } = key;

        public SiteInfo Site { get; } = site;

        public uint Counter { get; set; }

        public string LastKey { get; set; } = "";

        public bool LowBattery { get; set; }

        public int BatteryPercent { get; set; } = 80;
    }

    /// <summary>One gateway box as the cloud sees it: its identity, its session on the endpoint and its devices.</summary>
    private sealed class SimulatedGateway : IAsyncDisposable
    {
        private MqttSession? _session;

        private SimulatedGateway(string id, IReadOnlyList<SimulatedDevice> devices)
        {
            Id = id;
            Devices = devices;
        }

        public string Id { get; }

        public IReadOnlyList<SimulatedDevice> Devices { get; }

        public MqttSession Session => _session ?? throw new InvalidOperationException(Id + " is not connected");

        /// <summary>Gateway <paramref name="index"/>: its devices at sites around its own spot in Seoul, each with its own key.</summary>
        public static SimulatedGateway Create(int index, int deviceCount)
        {
            var random = new Random(index + 1);
            double latitude = 37.49 + random.NextDouble() * 0.12;
            double longitude = 126.92 + random.NextDouble() * 0.17;
            SimulatedDevice[] devices = [.. Enumerable.Range(0, deviceCount).Select(d => new SimulatedDevice(
                0x20000000u + (uint)(index * deviceCount + d),
                RandomNumberGenerator.GetBytes(32),
                new SiteInfo("home", latitude + (random.NextDouble() - 0.5) * 0.004, longitude + (random.NextDouble() - 0.5) * 0.005, "서울특별시")))];
            return new SimulatedGateway("gw-city-" + index.ToString("D3", CultureInfo.InvariantCulture), devices);
        }

        /// <summary>The box's persistent session on the endpoint under its certificate, subscribed to its commands.</summary>
        public async Task ConnectAsync(CloudEndpoint endpoint, string credentials, MqttSubscriptionHandler onCommand, CancellationToken ct)
        {
            MqttClientOptions options = endpoint.Broker.ClientOptions(null, BrokerListeners.AccountClientId("gateway-" + Id));
            options.TlsCaFile = endpoint.CaFile;
            options.TlsClientCertificateFile = Path.Combine(credentials, "gateway.crt");
            options.TlsClientKeyFile = Path.Combine(credentials, "gateway.key");
            options.ConnectTimeout = TimeSpan.FromMinutes(2);
            _session = MqttSession.Create(options);
            await _session.ConnectAsync(ct);
            await _session.SubscribeAsync(Topics.GatewayCommands(Id), MqttQos.AtLeastOnce, onCommand, ct);
        }

        public async ValueTask DisposeAsync()
        {
            if (_session is not null)
            {
                await _session.DisposeAsync();
            }
        }
    }
}
