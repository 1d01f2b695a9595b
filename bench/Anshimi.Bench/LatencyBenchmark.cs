using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// Press-to-console latency: N bells on the real firmware core (in one <see cref="DeviceHost"/> child
/// process), connected and sending heartbeats, raise alarms at a steady rate; each alarm is timed
/// from the moment the firmware hands its frame to the MQTT link until the cloud bridge's live feed
/// (what the console listens to) carries it. A bare Mosquitto QoS 1 publish→receive round trip is
/// measured in the same run as the baseline. All times are this machine's wall clock.
/// </summary>
internal sealed class LatencyBenchmark(int deviceCount, int alarmCount, double alarmsPerSecond)
{
    private const string ProbeUser = "probe";
    private readonly ConcurrentDictionary<string, DateTimeOffset> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Gateway, DateTimeOffset Cloud, DateTimeOffset Feed)> _seen = new(StringComparer.Ordinal);
    private volatile bool _feedReady;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"alarm latency: {deviceCount} bells, {alarmCount} alarms at {alarmsPerSecond}/s, {Environment.ProcessorCount} cores");
        var options = new AnshimiSystemOptions { DeviceCount = deviceCount, GatewayId = "gw-bench", Seed = 1 };
        options.ProbeUsers[ProbeUser] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);

        Process? host = null;
        bool ready = false;
        int frames = 0;
        try
        {
            // The whole fleet in one device process: MQTTnet's sessions are async sockets with no select(2) limit.
            var connect = Stopwatch.StartNew();
            host = StartHost(system.FleetPath, system.Broker, line =>
            {
                if (line == "READY")
                {
                    ready = true;
                }
                else if (line.StartsWith("SENT ", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ');
                    _sent.TryAdd(parts[1], new DateTimeOffset(long.Parse(parts[2], CultureInfo.InvariantCulture), TimeSpan.Zero));
                }
                else if (line.StartsWith("FRAMES ", StringComparison.Ordinal))
                {
                    frames = int.Parse(line[7..], CultureInfo.InvariantCulture);
                }
            });

            await Wait.UntilAsync(() => ready || host.HasExited, TimeSpan.FromMinutes(5), "the device host ready", ct);
            if (!ready)
            {
                throw new InvalidOperationException("the device host exited before it was ready");
            }

            Console.WriteLine($"{deviceCount} bells connected and sending heartbeats after {connect.Elapsed.TotalSeconds:F1} s, in one device process");

            await using MqttSession probePub = MqttSession.Create(system.Broker.ClientOptions(ProbeUser));
            await using MqttSession probeSub = MqttSession.Create(system.Broker.ClientOptions(ProbeUser));
            await probePub.ConnectAsync(ct);
            await probeSub.ConnectAsync(ct);
            Percentiles idleRtt = await BrokerRoundTripsAsync(probePub, probeSub, 300, 0, ct);

            using var feed = new CancellationTokenSource();
            Task watcher = WatchFeedAsync(system, feed.Token);
            await Wait.UntilAsync(() => _feedReady, TimeSpan.FromSeconds(30), "the live feed", ct);

            IReadOnlyList<DeviceRecord> devices = system.Fleet.Devices;

            // Warm-up, not measured: the first alarms pay for JIT compilation and cold SQLite pages.
            int warmup = Math.Min(50, devices.Count);
            await PressAsync(host, devices, 0, warmup, ct);
            await Wait.UntilAsync(() => _sent.Count >= warmup && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(1), "the warm-up alarms", ct);
            _sent.Clear();
            _seen.Clear();

            int pauseMs = (int)Math.Max(1, alarmCount / alarmsPerSecond * 1000 / 300);
            Task<Percentiles> loadedRtt = BrokerRoundTripsAsync(probePub, probeSub, 300, pauseMs, ct);
            await PressAsync(host, devices, warmup, alarmCount, ct);
            Percentiles rttUnderLoad = await loadedRtt;
            await Wait.UntilAsync(() => _sent.Count >= alarmCount && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(3), "every alarm on the live feed", ct);
            await feed.CancelAsync();
            await watcher;

            await host.StandardInput.WriteLineAsync("exit");
            await host.WaitForExitAsync(ct);

            var endToEnd = new Percentiles(_sent.Select(s => (_seen[s.Key].Feed - s.Value).TotalMilliseconds));
            var toGateway = new Percentiles(_sent.Select(s => (_seen[s.Key].Gateway - s.Value).TotalMilliseconds));
            var toCloud = new Percentiles(_seen.Values.Select(t => (t.Cloud - t.Gateway).TotalMilliseconds));
            var toFeed = new Percentiles(_seen.Values.Select(t => (t.Feed - t.Cloud).TotalMilliseconds));
            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| bare Mosquitto QoS 1 publish→receive, idle | {idleRtt.Describe()} |");
            Console.WriteLine($"| bare Mosquitto QoS 1 publish→receive, during the alarms | {rttUnderLoad.Describe()} |");
            Console.WriteLine($"| press → alarm on the console feed | {endToEnd.Describe()} |");
            Console.WriteLine($"| … of which press → stored by the gateway | {toGateway.Describe()} |");
            Console.WriteLine($"| … of which gateway → stored by the cloud bridge | {toCloud.Describe()} |");
            Console.WriteLine($"| … of which cloud store → console feed | {toFeed.Describe()} |");
            Console.WriteLine($"| gateway peak RSS (VmHWM) | {Mb(system.Gateway.PeakResidentBytes())} |");
            Console.WriteLine($"| cloud bridge peak RSS (VmHWM) | {Mb(system.Cloud.PeakResidentBytes())} |");
            Console.WriteLine($"| alarm frames resent by bells | {frames - warmup - alarmCount} |");
            return 0;
        }
        finally
        {
            if (host is { HasExited: false })
            {
                host.Kill();
            }

            host?.Dispose();
        }
    }

    internal static Process StartHost(string fleetPath, MosquittoBroker broker, Action<string> onLine)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(LatencyBenchmark).Assembly.Location);
        info.ArgumentList.Add("device-host");
        info.ArgumentList.Add(fleetPath);
        info.ArgumentList.Add(broker.Host);
        info.ArgumentList.Add(broker.Port.ToString(CultureInfo.InvariantCulture));
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                onLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        return process;
    }

    private Task PressAsync(Process host, IReadOnlyList<DeviceRecord> devices, int first, int count, CancellationToken ct) =>
        PressAsync([.. Enumerable.Range(first, count).Select(i => (host, devices[i % devices.Count].DeviceId))], alarmsPerSecond, ct);

    /// <summary>Presses each (device process, bell) in turn at a steady rate.</summary>
    internal static async Task PressAsync(IReadOnlyList<(Process Host, string DeviceId)> presses, double alarmsPerSecond, CancellationToken ct)
    {
        var pacing = Stopwatch.StartNew();
        for (int i = 0; i < presses.Count; i++)
        {
            // Read the clock once: read twice, it can pass the due time in between and leave a negative wait.
            TimeSpan wait = TimeSpan.FromSeconds(i / alarmsPerSecond) - pacing.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            (Process host, string deviceId) = presses[i];
            await host.StandardInput.WriteLineAsync("press " + deviceId);
            await host.StandardInput.FlushAsync(ct);
        }
    }

    private static string Mb(long? bytes) => bytes is null ? "n/a" : (bytes.Value / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    /// <param name="topic">Where the probe messages go: by default a fresh <c>probe/rtt/…</c>; on an endpoint whose identities
    /// may use only the system's topics, one that only the subscriber reads.</param>
    internal static async Task<Percentiles> BrokerRoundTripsAsync(MqttSession publisher, MqttSession subscriber, int samples, int pauseMs, CancellationToken ct, string? topic = null)
    {
        topic ??= "probe/rtt/" + Guid.NewGuid().ToString("N")[..8];
        var arrivals = new ConcurrentDictionary<int, long>();
        await subscriber.SubscribeAsync(topic, MqttQos.AtLeastOnce, (message, _) =>
        {
            arrivals.TryAdd(BitConverter.ToInt32(message.Payload), Stopwatch.GetTimestamp());
            return Task.CompletedTask;
        }, ct);

        var rtts = new List<double>(samples);
        for (int i = 0; i < samples; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await publisher.PublishAsync(topic, BitConverter.GetBytes(i), MqttQos.AtLeastOnce, false, ct);
            int sample = i;
            await Wait.UntilAsync(() => arrivals.ContainsKey(sample), TimeSpan.FromSeconds(10), "probe message", ct, pollMs: 0);
            rtts.Add((arrivals[i] - start) * 1000.0 / Stopwatch.Frequency);
            if (pauseMs > 0)
            {
                await Task.Delay(pauseMs, ct);
            }
        }

        return new Percentiles(rtts);
    }

    private Task WatchFeedAsync(AnshimiSystem system, CancellationToken ct) =>
        WatchFeedAsync(system, () => _feedReady = true, (key, raised, received, now) => _seen.TryAdd(key, (raised, received, now)), ct);

    /// <summary>Follows the console's live feed: <paramref name="ready"/> once it is open, then each alarm with its raised and received times and when the feed carried it.</summary>
    internal static async Task WatchFeedAsync(AnshimiSystem system, Action ready, Action<string, DateTimeOffset, DateTimeOffset, DateTimeOffset> alarm, CancellationToken ct)
    {
        using HttpClient http = AnshimiSystem.CloudClient(Timeout.InfiniteTimeSpan);
        try
        {
            await system.SignInAsync(http, ct);
            using Stream stream = await http.GetStreamAsync(new Uri(system.CloudUri, "api/alarms/stream"), ct);
            using var reader = new StreamReader(stream);
            string kind = "";
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    kind = line[6..].Trim();
                    if (kind == "ready")
                    {
                        ready();
                    }
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal) && kind == "alarm")
                {
                    DateTimeOffset now = DateTimeOffset.UtcNow;
                    using JsonDocument document = JsonDocument.Parse(line[5..]);
                    JsonElement root = document.RootElement;
                    alarm(root.GetProperty("key").GetString()!, root.GetProperty("raisedAt").GetDateTimeOffset(), root.GetProperty("receivedAt").GetDateTimeOffset(), now);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
