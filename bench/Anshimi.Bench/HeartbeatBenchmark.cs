using System.Diagnostics;
using System.Globalization;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// Supervision load: the heartbeats of a large fleet (10,000 devices by default) through one gateway. Every frame is
/// signed with its own device's key and carries that device's next counter, so the gateway does all its per-frame
/// work (topic, structure, registry, HMAC, replay floor, supervision, activity batch); the frames travel over a few
/// injector connections instead of one per device. Measured beside the bare broker's QoS 0 rate over the same connections in the same run.
/// </summary>
internal sealed class HeartbeatBenchmark(int deviceCount, TimeSpan phase)
{
    private const int Connections = 4;
    private const string Injector = "injector";
    private const string HeartbeatsSeries = "anshimi_gateway_heartbeats_total";

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"heartbeat load: {deviceCount} devices, {phase.TotalSeconds:F0} s per phase, {Connections} connections, {Environment.ProcessorCount} cores");
        var options = new AnshimiSystemOptions { DeviceCount = deviceCount, GatewayId = "gw-bench", Seed = 1 };
        options.UplinkInjectors[Injector] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

        // Supervision intervals long enough that nobody falls silent while the load ramps up.
        options.GatewayEnvironment["Gateway__Supervision__Default"] = "01:00:00";
        var setup = Stopwatch.StartNew();
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        Console.WriteLine($"system with {deviceCount} registered devices up after {setup.Elapsed.TotalSeconds:F1} s");

        var clients = new List<MqttSession>();
        try
        {
            for (int i = 0; i < Connections + 1; i++)
            {
                MqttSession client = MqttSession.Create(system.Broker.ClientOptions(Injector));
                await client.ConnectAsync(ct);
                clients.Add(client);
            }

            MqttSession counter = clients[^1];
            MqttSession[] senders = [.. clients.Take(Connections)];
            DeviceRecord[] devices = [.. system.Fleet.Devices];
            var fleet = new SignedHeartbeats(devices);
            var codec = new FrameCodec(new PlatformHmacSha256());

            // Baseline: the same connections and message size, to a topic only a plain subscriber reads.
            long received = 0;
            await counter.SubscribeAsync("probe/hb/#", MqttQos.AtMostOnce, (_, _) =>
            {
                Interlocked.Increment(ref received);
                return Task.CompletedTask;
            }, ct);
            byte[] sample = codec.Encode(new Frame(FrameType.Heartbeat, devices[0].NumericId, 1, 0, 0, 0, [0, 0xFF]), devices[0].Key);
            Rate bare = await FloodAsync(senders, phase, _ => ("probe/hb/x", sample), () => Task.FromResult(Interlocked.Read(ref received)), ct);
            Func<Task<long>> recorded = () => ScrapeAsync(system, ct);

            // Warm-up: every device once, so JIT and the registry's caches are hot.
            await FloodAsync(senders, TimeSpan.Zero, fleet.Next, recorded, ct, limit: devices.Length);
            long warm = await SettleAsync(system, ct);
            Console.WriteLine($"warm-up: {warm} of {devices.Length} heartbeats recorded; rejects: {await RejectsAsync(system, ct)}");

            // Saturation: every device in turn, as fast as the gateway records them.
            CpuSample cpuStart = CpuSample.Of(system.Gateway.ProcessId!.Value);
            Rate saturated = await FloodAsync(senders, phase, fleet.Next, recorded, ct);
            CpuSample cpuEnd = CpuSample.Of(system.Gateway.ProcessId!.Value);
            await SettleAsync(system, ct);

            // The fleet's real load: each device every 20 s (EN 50136 T6-class supervision), i.e. devices/20 per second.
            double realRate = deviceCount / 20.0;
            CpuSample steadyStart = CpuSample.Of(system.Gateway.ProcessId!.Value);
            long steadyBefore = await ScrapeAsync(system, ct);
            await PacedAsync(senders, realRate, phase, fleet.Next, ct);
            long steadyProcessed = await SettleAsync(system, ct) - steadyBefore;
            CpuSample steadyEnd = CpuSample.Of(system.Gateway.ProcessId!.Value);

            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| bare Mosquitto QoS 0, {Connections} publishers → 1 subscriber | {bare.ReadPerSecond:F0} msg/s received ({bare.Read} of {bare.Sent} in {bare.Elapsed.TotalSeconds:F1} s) |");
            Console.WriteLine($"| heartbeats verified and recorded by the gateway at saturation | {saturated.ReadPerSecond:F0} /s ({saturated.Read} of {saturated.Sent} in {saturated.Elapsed.TotalSeconds:F1} s) |");
            Console.WriteLine($"| gateway CPU at saturation | {cpuEnd.PercentSince(cpuStart):F0} % of one core |");
            Console.WriteLine($"| real fleet load: {deviceCount} devices every 20 s | {realRate:F0} /s offered, {steadyProcessed} of {(long)(realRate * phase.TotalSeconds)} recorded |");
            Console.WriteLine($"| gateway CPU at the real fleet load | {steadyEnd.PercentSince(steadyStart):F1} % of one core |");
            Console.WriteLine($"| gateway RSS now / peak (VmRSS / VmHWM) | {Mb(ResidentBytes(system.Gateway.ProcessId!.Value))} / {Mb(system.Gateway.PeakResidentBytes())} |");
            Console.WriteLine($"| uplinks rejected by the gateway, by reason | {await RejectsAsync(system, ct)} |");
            return 0;
        }
        finally
        {
            foreach (MqttSession client in clients)
            {
                await client.DisposeAsync();
            }
        }

    }

    /// <summary>
    /// Sends as fast as the reader keeps up: never more than <see cref="Window"/> frames ahead of what
    /// <paramref name="progress"/> reports read. An unpaced QoS 0 flood only fills the client's send queue
    /// until its own keepalive ping, queued behind the backlog, times the connection out.
    /// </summary>
    private static async Task<Rate> FloodAsync(MqttSession[] senders, TimeSpan duration, Func<long, (string Topic, byte[] Payload)> next, Func<Task<long>> progress, CancellationToken ct, long limit = long.MaxValue)
    {
        var clock = Stopwatch.StartNew();
        long sent = 0;
        long start = await progress();

        // One sender at a time keeps each device's counters in order across connections.
        while (sent < limit && (duration == TimeSpan.Zero || clock.Elapsed < duration))
        {
            if (sent % WindowCheck == 0)
            {
                while (await progress() - start < sent - Window)
                {
                    await Task.Delay(1, ct);
                }
            }

            (string topic, byte[] payload) = next(sent);
            await senders[sent % senders.Length].PublishAsync(topic, payload, MqttQos.AtMostOnce, retain: false, ct);
            sent++;
        }

        TimeSpan elapsed = clock.Elapsed;
        return new Rate(sent, await progress() - start, elapsed);
    }

    private const long Window = 5_000;
    private const long WindowCheck = 500;

    private static async Task PacedAsync(MqttSession[] senders, double perSecond, TimeSpan duration, Func<long, (string Topic, byte[] Payload)> next, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long total = (long)(perSecond * duration.TotalSeconds);
        for (long i = 0; i < total; i++)
        {
            TimeSpan due = TimeSpan.FromSeconds(i / perSecond);
            if (clock.Elapsed < due)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }

            (string topic, byte[] payload) = next(i);
            await senders[i % senders.Length].PublishAsync(topic, payload, MqttQos.AtMostOnce, retain: false, ct);
        }
    }

    private static async Task<long> ScrapeAsync(AnshimiSystem system, CancellationToken ct, string series = HeartbeatsSeries)
    {
        string text = await system.Http.GetStringAsync(new Uri(system.GatewayUri, "metrics"), ct);
        return Prometheus.Value(text, series);
    }

    private static readonly TimeSpan SettleQuiet = TimeSpan.FromSeconds(2);

    /// <summary>Waits until the gateway's heartbeat count has stopped moving for <see cref="SettleQuiet"/> and returns it.</summary>
    private static async Task<long> SettleAsync(AnshimiSystem system, CancellationToken ct)
    {
        long last = await ScrapeAsync(system, ct);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(SettleQuiet, ct);
            long now = await ScrapeAsync(system, ct);
            if (now == last && now > 0)
            {
                return now;
            }

            last = now;
        }

        throw new TimeoutException("the gateway never finished its backlog");
    }

    private static async Task<string> RejectsAsync(AnshimiSystem system, CancellationToken ct)
    {
        string text = await system.Http.GetStringAsync(new Uri(system.GatewayUri, "metrics"), ct);
        string[] rejects = [.. text.Split('\n').Where(l => l.StartsWith("anshimi_gateway_frames_rejected_total{", StringComparison.Ordinal))];
        return rejects.Length == 0 ? "none" : string.Join(", ", rejects.Select(l => l["anshimi_gateway_frames_rejected_total".Length..]));
    }

    private static long? ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines("/proc/" + pid + "/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }

    private static string Mb(long? bytes) => bytes is null ? "n/a" : (bytes.Value / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    /// <summary>Each device's next heartbeat, signed with its own key, counters rising one round at a time.</summary>
    private sealed class SignedHeartbeats(DeviceRecord[] devices)
    {
        private readonly FrameCodec _codec = new(new PlatformHmacSha256());
        private readonly byte[][] _keys = [.. devices.Select(d => d.Key)];
        private readonly string[] _topics = [.. devices.Select(d => Topics.DeviceUplink(d.NumericId))];
        private uint _round;

        public (string Topic, byte[] Payload) Next(long i)
        {
            int index = (int)(i % devices.Length);
            if (index == 0)
            {
                _round++;
            }

            return (_topics[index], _codec.Encode(new Frame(FrameType.Heartbeat, devices[index].NumericId, _round, 0, 0, 0, [0, 0xFF]), _keys[index]));
        }
    }

    /// <summary>Frames sent and frames the reader had taken in when sending stopped.</summary>
    private readonly record struct Rate(long Sent, long Read, TimeSpan Elapsed)
    {
        public double ReadPerSecond => Read / Elapsed.TotalSeconds;
    }

    /// <summary>A process's user + system CPU time from /proc/PID/stat, with the wall time it was read at.</summary>
    private readonly record struct CpuSample(double CpuSeconds, long Timestamp)
    {
        private const double ClockTicksPerSecond = 100;

        public static CpuSample Of(int pid)
        {
            string stat = File.ReadAllText("/proc/" + pid + "/stat");

            // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double ticks = double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            return new CpuSample(ticks / ClockTicksPerSecond, Stopwatch.GetTimestamp());
        }

        public double PercentSince(CpuSample start) =>
            100 * (CpuSeconds - start.CpuSeconds) / Stopwatch.GetElapsedTime(start.Timestamp, Timestamp).TotalSeconds;
    }
}
