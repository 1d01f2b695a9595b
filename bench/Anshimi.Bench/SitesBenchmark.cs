using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// Press-to-console latency across the site→cloud link: three gateway boxes, each with its own Mosquitto, gateway and
/// bells on the real firmware core (one <see cref="DeviceHost"/> process per box), linked over TLS with their own
/// certificates to the cloud's MQTT endpoint as deployed (<see cref="CloudEndpoint"/>), where one cloud bridge stores
/// the alarms and feeds the console. Beside it, in the same run, a bare QoS 1 publish→receive round trip between two
/// probe identities over the same TLS endpoint. All times are this machine's wall clock.
/// </summary>
internal sealed class SitesBenchmark(int bellsPerBox, int alarmCount, double alarmsPerSecond, int walks)
{
    private const int Boxes = 3;
    private static readonly string AllGatewayCommands = Topics.GatewayCommands("+");
    private readonly ConcurrentDictionary<string, DateTimeOffset> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Gateway, DateTimeOffset Cloud, DateTimeOffset Feed)> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _atEndpoint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _receiptAtEndpoint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _kinds = new(StringComparer.Ordinal);
    private volatile bool _feedReady;
    private volatile bool _countingKinds;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"sites: {Boxes} boxes × {bellsPerBox} bells over TLS to the cloud endpoint, {alarmCount} alarms at {alarmsPerSecond}/s, {Environment.ProcessorCount} cores");
        // Two probe identities that may exchange messages on probe/#, for the bare round trip over the same endpoint; the
        // second also reads the gateways' events and commands, to time alarms and light commands as the endpoint passes them on.
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct,
        [
            "user gw-probe-a", "topic readwrite probe/#",
            "user gw-probe-b", "topic readwrite probe/#", "topic read " + Topics.AllGatewayEvents, "topic read " + AllGatewayCommands,
        ]);
        byte[] escortKey = RandomNumberGenerator.GetBytes(32);
        string appKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var systems = new List<AnshimiSystem>();
        var hosts = new List<Process>();
        try
        {
            for (int box = 0; box < Boxes; box++)
            {
                string gatewayId = "gw-bench-" + box.ToString(CultureInfo.InvariantCulture);
                string credentials = await endpoint.IssueAsync(gatewayId, ct);
                var options = new AnshimiSystemOptions { GatewayId = gatewayId, DeviceCount = bellsPerBox, Profiles = ["home"], Seed = box + 1 };
                foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60)))
                {
                    options.GatewayEnvironment[key] = value;
                }

                options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";

                // The outbox's installed timing (gateway/README.md), not the test harness's 1 s: a box resends an alarm the
                // cloud has not receipted after 5 s, doubling, so a slow cloud is not also flooded with copies.
                options.GatewayEnvironment["Gateway__OutboxRetryInterval"] = "00:00:05";
                options.GatewayEnvironment["Gateway__OutboxRetryMaxInterval"] = "00:05:00";
                if (box == 0)
                {
                    // The one cloud bridge on the endpoint; the other boxes' harness bridges stay idle on their own box brokers.
                    foreach ((string key, string value) in endpoint.BridgeEnvironment())
                    {
                        options.CloudEnvironment[key] = value;
                    }

                    // The walker's street stands at this box, in its simulated BLE airspace; its lights run only for the walks.
                    options.BleAirspace = true;
                    options.EscortKey = escortKey;
                    options.AppClients[WalkerBenchmark.AppClient] = appKey;
                    options.GatewayEnvironment["Gateway__Ble__AdvertisingInterval"] = WalkerBenchmark.AdvertisingInterval.ToString("c", CultureInfo.InvariantCulture);
                    options.GatewayEnvironment["Gateway__Ble__Dwell"] = WalkerBenchmark.Dwell.ToString("c", CultureInfo.InvariantCulture);
                    foreach (DeviceRecord light in WalkerBenchmark.Street())
                    {
                        options.ExtraDevices.Add(light);
                    }
                }

                systems.Add(await AnshimiSystem.StartAsync(options, ct));
            }

            var walker = new WalkerBenchmark(systems[0], escortKey, appKey, walks);

            int ready = 0;
            foreach (AnshimiSystem system in systems)
            {
                hosts.Add(LatencyBenchmark.StartHost(system.FleetPath, system.Broker, line =>
                {
                    if (line == "READY")
                    {
                        Interlocked.Increment(ref ready);
                    }
                    else if (line.StartsWith("SENT ", StringComparison.Ordinal))
                    {
                        string[] parts = line.Split(' ');
                        _sent.TryAdd(parts[1], new DateTimeOffset(long.Parse(parts[2], CultureInfo.InvariantCulture), TimeSpan.Zero));
                    }
                }));
            }

            await Wait.UntilAsync(() => Volatile.Read(ref ready) == Boxes || hosts.Any(h => h.HasExited), TimeSpan.FromMinutes(5), "every box's bells connected", ct);
            if (Volatile.Read(ref ready) != Boxes)
            {
                throw new InvalidOperationException("a device host exited before it was ready");
            }

            await using MqttSession probePub = MqttSession.Create(Probe(endpoint, await endpoint.IssueAsync("gw-probe-a", ct), "probe-a"));
            await using MqttSession probeSub = MqttSession.Create(Probe(endpoint, await endpoint.IssueAsync("gw-probe-b", ct), "probe-b"));
            await probePub.ConnectAsync(ct);
            await probeSub.ConnectAsync(ct);
            await probeSub.SubscribeAsync(Topics.AllGatewayEvents, MqttQos.AtLeastOnce, (message, token) =>
            {
                DateTimeOffset now = DateTimeOffset.UtcNow;
                if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
                {
                    if (envelope is AlarmEnvelope alarm)
                    {
                        _atEndpoint.TryAdd(alarm.Key, now);
                    }

                    if (_countingKinds)
                    {
                        _kinds.AddOrUpdate(envelope!.GetType().Name, 1, (_, n) => n + 1);
                    }
                }

                return Task.CompletedTask;
            }, ct);
            await probeSub.SubscribeAsync(AllGatewayCommands, MqttQos.AtLeastOnce, (message, token) =>
            {
                DateTimeOffset now = DateTimeOffset.UtcNow;
                if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _))
                {
                    if (envelope is AlarmReceiptEnvelope receipt)
                    {
                        _receiptAtEndpoint.TryAdd(receipt.Key, now);
                    }

                    walker.OnCommandAtEndpoint(envelope!, now);
                }

                return Task.CompletedTask;
            }, ct);
            Percentiles idleRtt = await LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, 0, ct);

            using var feed = new CancellationTokenSource();
            Task watcher = LatencyBenchmark.WatchFeedAsync(systems[0], () => _feedReady = true, (key, raised, received, now) => _seen.TryAdd(key, (raised, received, now)), feed.Token);
            await Wait.UntilAsync(() => _feedReady, TimeSpan.FromSeconds(30), "the live feed", ct);

            // Round robin over the boxes, each press on a different bell of its box.
            (Process, string)[] Presses(int first, int count) => [.. Enumerable.Range(first, count).Select(i =>
                (hosts[i % Boxes], systems[i % Boxes].Fleet.Devices[i / Boxes % bellsPerBox].DeviceId))];

            int warmup = Math.Min(30, Boxes * bellsPerBox);
            await LatencyBenchmark.PressAsync(Presses(0, warmup), alarmsPerSecond, ct);
            await Wait.UntilAsync(() => _sent.Count >= warmup && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(1), "the warm-up alarms", ct);
            _sent.Clear();
            _seen.Clear();
            _atEndpoint.Clear();
            _receiptAtEndpoint.Clear();
            _countingKinds = true;
            CpuShare[] cpu =
            [
                new("self"),
                new(Pid(endpoint.Broker.ProcessId)),
                new([.. systems.Select(s => Pid(s.Broker.ProcessId))]),
                new([.. systems.Select(s => Pid(s.Gateway.ProcessId))]),
                new(Pid(systems[0].Cloud.ProcessId)),
                new([.. systems.Skip(1).Select(s => Pid(s.Cloud.ProcessId))]),
                new([.. hosts.Select(h => h.Id.ToString(CultureInfo.InvariantCulture))]),
            ];
            var machine = new CpuShare(["self", Pid(endpoint.Broker.ProcessId), .. systems.SelectMany(s => new[] { Pid(s.Broker.ProcessId), Pid(s.Gateway.ProcessId), Pid(s.Cloud.ProcessId) }), .. hosts.Select(h => h.Id.ToString(CultureInfo.InvariantCulture))]);

            int pauseMs = (int)Math.Max(1, alarmCount / alarmsPerSecond * 1000 / 300);
            Task<Percentiles> loadedRtt = LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, pauseMs, ct);
            await LatencyBenchmark.PressAsync(Presses(warmup, alarmCount), alarmsPerSecond, ct);
            Percentiles rttUnderLoad = await loadedRtt;
            await Wait.UntilAsync(() => _sent.Count >= alarmCount && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(3), "every alarm on the live feed", ct);
            _countingKinds = false;
            string[] cpuUsed = [.. cpu.Select(c => c.Describe())];
            string machineUsed = machine.DescribeAgainstMachine();
            await feed.CancelAsync();
            await watcher;

            var endToEnd = new Percentiles(_sent.Select(s => (_seen[s.Key].Feed - s.Value).TotalMilliseconds));
            var toGateway = new Percentiles(_sent.Select(s => (_seen[s.Key].Gateway - s.Value).TotalMilliseconds));
            var overLink = new Percentiles(_seen.Values.Select(t => (t.Cloud - t.Gateway).TotalMilliseconds));
            var toEndpoint = new Percentiles(_seen.Where(s => _atEndpoint.ContainsKey(s.Key)).Select(s => (_atEndpoint[s.Key] - s.Value.Gateway).TotalMilliseconds));
            var fromEndpoint = new Percentiles(_seen.Where(s => _atEndpoint.ContainsKey(s.Key)).Select(s => (s.Value.Cloud - _atEndpoint[s.Key]).TotalMilliseconds));
            var toFeed = new Percentiles(_seen.Values.Select(t => (t.Feed - t.Cloud).TotalMilliseconds));
            var toReceipt = new Percentiles(_seen.Where(s => _receiptAtEndpoint.ContainsKey(s.Key)).Select(s => (_receiptAtEndpoint[s.Key] - s.Value.Cloud).TotalMilliseconds));
            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| bare QoS 1 publish→receive over the TLS endpoint, idle | {idleRtt.Describe()} |");
            Console.WriteLine($"| bare QoS 1 publish→receive over the TLS endpoint, during the alarms | {rttUnderLoad.Describe()} |");
            Console.WriteLine($"| press → alarm on the console feed, three boxes | {endToEnd.Describe()} |");
            Console.WriteLine($"| … of which press → stored by the box's gateway | {toGateway.Describe()} |");
            Console.WriteLine($"| … of which gateway → over the TLS link → stored by the cloud bridge | {overLink.Describe()} |");
            Console.WriteLine($"| … … gateway → passed on by the endpoint (seen by a probe subscriber) | {toEndpoint.Describe()} |");
            Console.WriteLine($"| … … passed on by the endpoint → taken by the cloud bridge | {fromEndpoint.Describe()} |");
            Console.WriteLine($"| … of which cloud store → console feed | {toFeed.Describe()} |");
            Console.WriteLine($"| the cloud bridge took the alarm → its receipt passed on by the endpoint (its ingest loop does not wait for the PUBACK) | {toReceipt.Describe()} |");
            Console.WriteLine($"| envelopes the endpoint passed to the cloud bridge during the alarms, by kind | {string.Join(", ", _kinds.OrderByDescending(k => k.Value).Select(k => k.Key + " " + k.Value))} |");
            Console.WriteLine($"| alarm envelopes resent by the gateways (no receipt within their retry interval) | {_kinds.GetValueOrDefault(nameof(AlarmEnvelope)) - alarmCount} |");
            Console.WriteLine($"| CPU during the alarms: this process / endpoint / box brokers / gateways / cloud bridge / idle bridges / bells' processes | {string.Join(" · ", cpuUsed)} |");
            Console.WriteLine($"| CPU during the alarms: these 14 processes, and the machine | {machineUsed} |");
            return walks > 0 ? await walker.RunAsync(ct) : 0;
        }
        finally
        {
            foreach (Process host in hosts)
            {
                if (!host.HasExited)
                {
                    host.Kill();
                }

                host.Dispose();
            }

            foreach (AnshimiSystem system in systems)
            {
                await system.DisposeAsync();
            }
        }
    }

    private static string Pid(int? processId) => processId?.ToString(CultureInfo.InvariantCulture) ?? throw new InvalidOperationException("a process of the run is not running");

    /// <summary>A probe identity's session on the endpoint: its own certificate (issued as a gateway's), the CA pinned.</summary>
    internal static MqttClientOptions Probe(CloudEndpoint endpoint, string credentials, string name)
    {
        MqttClientOptions options = endpoint.Broker.ClientOptions(null, BrokerListeners.AccountClientId(name));
        options.TlsCaFile = endpoint.CaFile;
        options.TlsClientCertificateFile = Path.Combine(credentials, "gateway.crt");
        options.TlsClientKeyFile = Path.Combine(credentials, "gateway.key");
        return options;
    }
}
