using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Anshimi.Firmware;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// Press-to-console latency: N bells on the real firmware core, connected and sending heartbeats,
/// raise alarms at a steady rate; each alarm is timed from the moment the firmware hands its frame
/// to the MQTT link until the cloud bridge's live feed (what the console listens to) carries it.
/// A bare Mosquitto QoS 1 publish→receive round trip is measured in the same run as the baseline.
/// </summary>
internal sealed class LatencyBenchmark(int deviceCount, int alarmCount, double alarmsPerSecond)
{
    private const string ProbeUser = "probe";
    private readonly ConcurrentDictionary<string, (long Ticks, DateTimeOffset Wall)> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);

    // Per alarm: when the gateway stored it and when the cloud bridge stored it (wall clock, same machine).
    private readonly ConcurrentDictionary<string, (DateTimeOffset Gateway, DateTimeOffset Cloud, DateTimeOffset Feed)> _stages = new(StringComparer.Ordinal);

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"alarm latency: {deviceCount} bells, {alarmCount} alarms at {alarmsPerSecond}/s, {Environment.ProcessorCount} cores");
        var options = new AnshimiSystemOptions { DeviceCount = deviceCount, GatewayId = "gw-bench", Seed = 1 };
        options.ProbeUsers[ProbeUser] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        var factory = new MosquittoClientFactory();
        var bells = new List<(PanicBell Bell, SimulatedButton Button, MqttLink Link)>();
        var clock = new SystemClock();
        foreach (DeviceRecord device in system.Fleet.Devices)
        {
            var link = new MqttLink(factory.Create(MqttLink.OptionsFor(device, system.Broker.Host, system.Broker.Port)), device.NumericId);
            var button = new SimulatedButton(clock);
            var config = new BellConfig(device.NumericId, device.Key) { LongPressMs = 100, DebounceMs = 20, HeartbeatIntervalMs = 10_000 };
            var bell = new PanicBell(config, clock, button, new SimulatedLed(clock), new MemoryDeviceStorage(), new TimedLink(link, _sent), new PlatformHmacSha256(), new SeededRandom());
            bells.Add((bell, button, link));
        }

        // A thousand devices share this one process; each MQTT session completes its waits on the
        // thread pool, so give the pool room up front instead of letting it grow slowly.
        ThreadPool.SetMinThreads(Math.Max(256, deviceCount / 4), Math.Max(256, deviceCount / 4));

        using var ticking = new CancellationTokenSource();
        Thread[] tickers = StartTickers(bells.Select(b => b.Bell).ToArray(), 4, ticking.Token);
        try
        {
            // Devices come online in waves, as a district's fleet does after a power cut, not all in one instant.
            var connect = Stopwatch.StartNew();
            foreach (var wave in bells.Chunk(50))
            {
                foreach (var b in wave)
                {
                    b.Link.Start();
                }

                await WaitAsync(() => wave.All(b => b.Link.IsConnected), TimeSpan.FromMinutes(1), "a wave of bells connected", ct);
            }

            Console.WriteLine($"{deviceCount} bells connected in {connect.Elapsed.TotalSeconds:F1} s");
            await WaitAsync(() => bells.All(b => b.Bell.HeartbeatsSent > 0), TimeSpan.FromMinutes(1), "a heartbeat from every bell", ct);

            await using IMqttClient probePub = factory.Create(system.Broker.ClientOptions(ProbeUser));
            await using IMqttClient probeSub = factory.Create(system.Broker.ClientOptions(ProbeUser));
            await probePub.ConnectAsync(ct);
            await probeSub.ConnectAsync(ct);
            Percentiles idleRtt = await BrokerRoundTripsAsync(probePub, probeSub, 300, ct);

            using var feed = new CancellationTokenSource();
            Task watcher = WatchFeedAsync(system, feed.Token);
            await WaitAsync(() => _seen.ContainsKey("ready"), TimeSpan.FromSeconds(30), "the live feed", ct);

            Task<Percentiles> loadedRtt = BrokerRoundTripsAsync(probePub, probeSub, 300, ct, pauseMs: (int)Math.Max(1, alarmCount / alarmsPerSecond * 1000 / 300));
            var pacing = Stopwatch.StartNew();
            for (int i = 0; i < alarmCount; i++)
            {
                TimeSpan due = TimeSpan.FromSeconds(i / alarmsPerSecond);
                if (pacing.Elapsed < due)
                {
                    await Task.Delay(due - pacing.Elapsed, ct);
                }

                bells[i % bells.Count].Button.Press(150);
            }

            Percentiles rttUnderLoad = await loadedRtt;
            await WaitAsync(() => _sent.Count >= alarmCount && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(3), "every alarm on the live feed", ct);
            await feed.CancelAsync();
            await watcher;

            double toMs = 1000.0 / Stopwatch.Frequency;
            var alarms = new Percentiles(_sent.Select(s => (_seen[s.Key] - s.Value.Ticks) * toMs));
            var toGateway = new Percentiles(_sent.Select(s => (_stages[s.Key].Gateway - s.Value.Wall).TotalMilliseconds));
            var toCloud = new Percentiles(_stages.Values.Select(t => (t.Cloud - t.Gateway).TotalMilliseconds));
            var toFeed = new Percentiles(_stages.Values.Select(t => (t.Feed - t.Cloud).TotalMilliseconds));
            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| bare Mosquitto QoS 1 publish→receive, idle | {idleRtt.Describe()} |");
            Console.WriteLine($"| bare Mosquitto QoS 1 publish→receive, during the alarms | {rttUnderLoad.Describe()} |");
            Console.WriteLine($"| press → alarm on the console feed | {alarms.Describe()} |");
            Console.WriteLine($"| … of which press → stored by the gateway | {toGateway.Describe()} |");
            Console.WriteLine($"| … of which gateway → stored by the cloud bridge | {toCloud.Describe()} |");
            Console.WriteLine($"| … of which cloud store → console feed | {toFeed.Describe()} |");
            Console.WriteLine($"| gateway peak RSS (VmHWM) | {Mb(system.Gateway.PeakResidentBytes())} |");
            Console.WriteLine($"| cloud bridge peak RSS (VmHWM) | {Mb(system.Cloud.PeakResidentBytes())} |");
            Console.WriteLine($"| alarms resent by bells (frames sent − alarms) | {bells.Sum(b => b.Bell.AlarmFramesSent) - alarmCount} |");
            return 0;
        }
        finally
        {
            await ticking.CancelAsync();
            foreach (Thread ticker in tickers)
            {
                ticker.Join();
            }

            await Task.WhenAll(bells.Select(b => b.Link.DisposeAsync().AsTask()));
        }
    }

    private static string Mb(long? bytes) => bytes is null ? "n/a" : (bytes.Value / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    /// <summary>A few device loops share threads, as a fleet would share real time; each bell ticks every 10 ms.</summary>
    private static Thread[] StartTickers(PanicBell[] bells, int threads, CancellationToken ct)
    {
        var result = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int slice = t;
            result[t] = new Thread(() =>
            {
                while (!ct.IsCancellationRequested)
                {
                    for (int i = slice; i < bells.Length; i += threads)
                    {
                        bells[i].Tick();
                    }

                    Thread.Sleep(10);
                }
            }) { IsBackground = true, Name = "ticker-" + t };
            result[t].Start();
        }

        return result;
    }

    private static async Task<Percentiles> BrokerRoundTripsAsync(IMqttClient publisher, IMqttClient subscriber, int samples, CancellationToken ct, int pauseMs = 0)
    {
        string topic = "probe/rtt/" + Guid.NewGuid().ToString("N")[..8];
        var arrivals = new ConcurrentDictionary<int, long>();
        void OnMessage(object? sender, MqttMessageReceivedEventArgs e)
        {
            if (e.Topic == topic)
            {
                arrivals.TryAdd(BitConverter.ToInt32(e.Payload), Stopwatch.GetTimestamp());
            }
        }

        subscriber.MessageReceived += OnMessage;
        try
        {
            await subscriber.SubscribeAsync(topic, MqttQos.AtLeastOnce, ct);
            var rtts = new List<double>(samples);
            for (int i = 0; i < samples; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await publisher.PublishAsync(topic, BitConverter.GetBytes(i), MqttQos.AtLeastOnce, false, ct);
                await WaitAsync(() => arrivals.ContainsKey(i), TimeSpan.FromSeconds(10), "probe message", ct, pollMs: 0);
                rtts.Add((arrivals[i] - start) * 1000.0 / Stopwatch.Frequency);
                if (pauseMs > 0)
                {
                    await Task.Delay(pauseMs, ct);
                }
            }

            return new Percentiles(rtts);
        }
        finally
        {
            subscriber.MessageReceived -= OnMessage;
        }
    }

    private async Task WatchFeedAsync(AnshimiSystem system, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        try
        {
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
                        _seen.TryAdd("ready", Stopwatch.GetTimestamp());
                    }
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal) && kind == "alarm")
                {
                    long now = Stopwatch.GetTimestamp();
                    DateTimeOffset wall = DateTimeOffset.UtcNow;
                    using JsonDocument alarm = JsonDocument.Parse(line[5..]);
                    string key = alarm.RootElement.GetProperty("key").GetString()!;
                    _stages.TryAdd(key, (alarm.RootElement.GetProperty("raisedAt").GetDateTimeOffset(), alarm.RootElement.GetProperty("receivedAt").GetDateTimeOffset(), wall));
                    _seen.TryAdd(key, now);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken ct, int pollMs = 50)
    {
        var elapsed = Stopwatch.StartNew();
        while (!condition())
        {
            if (elapsed.Elapsed > timeout)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            if (pollMs == 0)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(pollMs, ct);
            }
        }
    }
}
