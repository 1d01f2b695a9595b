using System.Diagnostics;
using System.Globalization;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// Supervision load: the heartbeats of a large fleet (10,000 devices by default) through one gateway, each device on
/// its own MQTT session as in the field: its own broker account, client id, persistent session and last will
/// (<see cref="MqttLink.OptionsFor"/>), publishing on its own uplink topic, every frame signed with its own key and
/// carrying its next counter. So the broker checks every device's credentials and ACL, and the gateway does all its
/// per-frame work (topic, structure, registry, HMAC, replay floor, supervision, activity batch). Baseline in the same
/// run: a bare Mosquitto with the same accounts and ACL, the same sessions sending the same frames, read by a plain
/// subscriber on a gateway-role account instead of the gateway.
/// </summary>
internal sealed class HeartbeatBenchmark(int deviceCount, TimeSpan phase)
{
    // A handful of connects in flight: Mosquitto listens with a backlog of 100, and a fleet coming back after a power
    // cut spreads out over its jittered backoff rather than arriving in one instant.
    private const int ConnectsInFlight = 64;
    private const string HeartbeatsSeries = "anshimi_gateway_heartbeats_total";

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"heartbeat load: {deviceCount} devices on {deviceCount} MQTT sessions, {phase.TotalSeconds:F0} s per phase, {Environment.ProcessorCount} cores, {OpenFilesLimit()} open files allowed per process");
        var options = new AnshimiSystemOptions { DeviceCount = deviceCount, GatewayId = "gw-bench", Seed = 1 };

        // Supervision intervals long enough that nobody falls silent while the load ramps up.
        options.GatewayEnvironment["Gateway__Supervision__Default"] = "01:00:00";
        var setup = Stopwatch.StartNew();
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        Console.WriteLine($"system with {deviceCount} registered devices up after {setup.Elapsed.TotalSeconds:F1} s");
        DeviceRecord[] devices = [.. system.Fleet.Devices];

        // Baseline: the same sessions and frames on a bare broker with the same accounts and ACL; a plain subscriber reads them.
        Rate bare;
        TimeSpan bareConnect;
        string bareCpu;
        await using (MosquittoBroker bareBroker = await BareBrokerAsync(system.Fleet, ct))
        {
            long received = 0;
            await using MqttSession reader = MqttSession.Create(bareBroker.ClientOptions(BaselineReader));
            reader.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtMostOnce, (_, _) =>
            {
                Interlocked.Increment(ref received);
                return Task.CompletedTask;
            });
            await reader.ConnectAsync(ct);
            await using DeviceSessions sessions = await DeviceSessions.ConnectAsync(devices, bareBroker, ct);
            bareConnect = sessions.ConnectTime;
            var frames = new SignedHeartbeats(devices);
            var bareProcesses = new CpuShare(Self, BrokerPid(bareBroker));
            bare = await FloodAsync(sessions, frames, phase, () => Task.FromResult(Interlocked.Read(ref received)), ct);
            bareCpu = bareProcesses.Describe();
        }

        await using DeviceSessions fleet = await DeviceSessions.ConnectAsync(devices, system.Broker, ct);
        Console.WriteLine($"{fleet.Connected} of {deviceCount} device sessions connected to the system's broker in {fleet.ConnectTime.TotalSeconds:F1} s ({ConnectsInFlight} connects in flight)");
        var heartbeats = new SignedHeartbeats(devices);
        Func<Task<long>> recorded = () => ScrapeAsync(system, ct);

        // Warm-up: every device once, so JIT and the registry's caches are hot.
        await FloodAsync(fleet, heartbeats, TimeSpan.Zero, recorded, ct, limit: devices.Length);
        long warm = await SettleAsync(system, ct);
        Console.WriteLine($"warm-up: {warm} of {devices.Length} heartbeats recorded; rejects: {await RejectsAsync(system, ct)}");

        // Saturation: every device in turn, as fast as the gateway records them.
        string gatewayPid = system.Gateway.ProcessId!.Value.ToString(CultureInfo.InvariantCulture);
        var processes = new CpuShare(Self, BrokerPid(system.Broker), gatewayPid);
        Rate saturated = await FloodAsync(fleet, heartbeats, phase, recorded, ct);
        string saturatedCpu = processes.Describe();
        await SettleAsync(system, ct);

        // The fleet's real load: each device every 20 s (EN 50136 T6-class supervision), i.e. devices/20 per second.
        // Its own peak: writing 5 to clear_refs resets VmHWM to the current RSS.
        long? saturationPeak = ProcStatus(gatewayPid, "VmHWM:");
        await File.WriteAllTextAsync("/proc/" + gatewayPid + "/clear_refs", "5", ct);
        double realRate = deviceCount / 20.0;
        long steadyBefore = await ScrapeAsync(system, ct);
        processes = new CpuShare(Self, BrokerPid(system.Broker), gatewayPid);
        await PacedAsync(fleet, heartbeats, realRate, phase, ct);
        string steadyCpu = processes.Describe();
        long steadyProcessed = await SettleAsync(system, ct) - steadyBefore;

        Console.WriteLine();
        Console.WriteLine("| measurement | result |");
        Console.WriteLine("| --- | --- |");
        Console.WriteLine($"| connect {deviceCount} device sessions, bare broker / system's broker | {bareConnect.TotalSeconds:F1} s / {fleet.ConnectTime.TotalSeconds:F1} s |");
        Console.WriteLine($"| bare Mosquitto QoS 0, {deviceCount} device sessions → 1 plain subscriber | {bare.ReadPerSecond:F0} msg/s received ({bare.Read} of {bare.Sent} in {bare.Elapsed.TotalSeconds:F1} s) |");
        Console.WriteLine($"| CPU during the baseline: device sessions' process / Mosquitto | {bareCpu} |");
        Console.WriteLine($"| heartbeats verified and recorded by the gateway at saturation | {saturated.ReadPerSecond:F0} /s ({saturated.Read} of {saturated.Sent} in {saturated.Elapsed.TotalSeconds:F1} s) |");
        Console.WriteLine($"| CPU at saturation: device sessions' process / Mosquitto / gateway | {saturatedCpu} |");
        Console.WriteLine($"| real fleet load: {deviceCount} devices every 20 s | {realRate:F0} /s offered, {steadyProcessed} of {(long)(realRate * phase.TotalSeconds)} recorded |");
        Console.WriteLine($"| CPU at the real fleet load: device sessions' process / Mosquitto / gateway | {steadyCpu} |");
        Console.WriteLine($"| gateway RSS peak until the end of saturation (VmHWM) | {Mb(saturationPeak)} |");
        Console.WriteLine($"| gateway RSS peak during the real fleet load / at the end (VmHWM / VmRSS) | {Mb(ProcStatus(gatewayPid, "VmHWM:"))} / {Mb(ProcStatus(gatewayPid, "VmRSS:"))} |");
        Console.WriteLine($"| uplinks rejected by the gateway, by reason | {await RejectsAsync(system, ct)} |");
        Console.WriteLine($"| device sessions connected at the end / connections lost during the run | {fleet.Connected} of {deviceCount} / {fleet.ConnectionsLost} |");
        Console.WriteLine($"| benchmark process RSS now / peak, {deviceCount} sessions (VmRSS / VmHWM) | {Mb(ProcStatus(Self, "VmRSS:"))} / {Mb(ProcStatus(Self, "VmHWM:"))} |");
        return 0;
    }

    private const string BaselineReader = "gateway-baseline";
    private const string Self = "self";

    /// <summary>The broker's pid, found by the configuration file on its command line.</summary>
    private static string BrokerPid(MosquittoBroker broker) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .First(pid =>
            {
                try
                {
                    return File.ReadAllText("/proc/" + pid + "/cmdline").Contains(broker.ConfigFile, StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            })!;

    /// <summary>A second Mosquitto configured as the system's (every device's account, the fleet's ACL, persistence) with a gateway-role reader.</summary>
    private static async Task<MosquittoBroker> BareBrokerAsync(FleetFile fleet, CancellationToken ct)
    {
        var reader = new ServiceUser(BaselineReader, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)));
        var options = new MosquittoBrokerOptions();
        foreach (DeviceRecord device in fleet.Devices)
        {
            options.Users[device.DeviceId] = device.MqttPassword;
        }

        options.Users[reader.Name] = reader.Password;
        foreach (string line in BrokerAuth.AclText(fleet.GatewayId, [reader]).Split('\n'))
        {
            options.AclLines.Add(line);
        }

        options.ExtraConfigLines.Add("autosave_interval 1");
        return await MosquittoBroker.StartAsync(options, ct);
    }

    /// <summary>
    /// Sends as fast as the reader keeps up: never more than <see cref="Window"/> frames ahead of what
    /// <paramref name="progress"/> reports read. An unpaced QoS 0 flood only fills the client's send queue
    /// until its own keepalive ping, queued behind the backlog, times the connection out.
    /// </summary>
    private static async Task<Rate> FloodAsync(DeviceSessions sessions, SignedHeartbeats heartbeats, TimeSpan duration, Func<Task<long>> progress, CancellationToken ct, long limit = long.MaxValue)
    {
        // Devices publish side by side, as a fleet does; a frame starts only once the frame InFlight places before it
        // has been sent, so (with fewer in flight than devices) each device's counters leave its session in order.
        int inFlight = Math.Min(PublishesInFlight, sessions.Count);
        var pending = new Task[inFlight];
        Array.Fill(pending, Task.CompletedTask);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        long start = await progress();
        while (sent < limit && (duration == TimeSpan.Zero || clock.Elapsed < duration))
        {
            if (sent % WindowCheck == 0)
            {
                while (await progress() - start < sent - Window)
                {
                    await Task.Delay(1, ct);
                }
            }

            int slot = (int)(sent % inFlight);
            await pending[slot];
            pending[slot] = sessions.PublishAsync(heartbeats.Next(sent), ct);
            sent++;
        }

        await Task.WhenAll(pending);
        TimeSpan elapsed = clock.Elapsed;
        return new Rate(sent, await progress() - start, elapsed);
    }

    private const int PublishesInFlight = 256;
    private const long Window = 5_000;
    private const long WindowCheck = 500;

    private static async Task PacedAsync(DeviceSessions sessions, SignedHeartbeats heartbeats, double perSecond, TimeSpan duration, CancellationToken ct)
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

            await sessions.PublishAsync(heartbeats.Next(i), ct);
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

    /// <summary>A size field (in kB) of /proc/PROCESS/status, in bytes; PROCESS is a pid or "self".</summary>
    private static long? ProcStatus(string process, string field)
    {
        foreach (string line in File.ReadLines("/proc/" + process + "/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }

    private static string OpenFilesLimit()
    {
        string? line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] ?? "?";
    }

    private static string Mb(long? bytes) => bytes is null ? "n/a" : (bytes.Value / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    /// <summary>One MQTT session per device with the device's own options, as a real device connects.</summary>
    private sealed class DeviceSessions : IAsyncDisposable
    {
        private readonly MqttSession[] _sessions;
        private long _connectionsLost;

        private DeviceSessions(MqttSession[] sessions)
        {
            _sessions = sessions;
            foreach (MqttSession session in sessions)
            {
                session.StateChanged += (_, e) =>
                {
                    if (e.State == MqttConnectionState.Reconnecting)
                    {
                        Interlocked.Increment(ref _connectionsLost);
                    }
                };
            }
        }

        public TimeSpan ConnectTime { get; private set; }

        public int Count => _sessions.Length;

        public int Connected => _sessions.Count(s => s.IsConnected);

        /// <summary>Times a connected session lost its connection (each reconnect attempt that fails counts again).</summary>
        public long ConnectionsLost => Interlocked.Read(ref _connectionsLost);

        public static async Task<DeviceSessions> ConnectAsync(DeviceRecord[] devices, MosquittoBroker broker, CancellationToken ct)
        {
            var sessions = new DeviceSessions([.. devices.Select(d => MqttSession.Create(MqttLink.OptionsFor(d, broker.Host, broker.Port)))]);
            var clock = Stopwatch.StartNew();
            try
            {
                await Parallel.ForEachAsync(
                    sessions._sessions,
                    new ParallelOptions { MaxDegreeOfParallelism = ConnectsInFlight, CancellationToken = ct },
                    async (session, token) => await session.ConnectAsync(token));
            }
            catch
            {
                await sessions.DisposeAsync();
                throw;
            }

            sessions.ConnectTime = clock.Elapsed;
            return sessions;
        }

        /// <summary>QoS 0, as the firmware sends heartbeats: a lost one is replaced by the next.</summary>
        public Task PublishAsync(Heartbeat heartbeat, CancellationToken ct) =>
            _sessions[heartbeat.Device].PublishAsync(heartbeat.Topic, heartbeat.Payload, MqttQos.AtMostOnce, retain: false, ct);

        public async ValueTask DisposeAsync() => await Task.WhenAll(_sessions.Select(s => s.DisposeAsync().AsTask()));
    }

    private readonly record struct Heartbeat(int Device, string Topic, byte[] Payload);

    /// <summary>Each device's next heartbeat, signed with its own key, counters rising one round at a time.</summary>
    private sealed class SignedHeartbeats(DeviceRecord[] devices)
    {
        private readonly FrameCodec _codec = new(new PlatformHmacSha256());
        private readonly byte[][] _keys = [.. devices.Select(d => d.Key)];
        private readonly string[] _topics = [.. devices.Select(d => Topics.DeviceUplink(d.NumericId))];
        private uint _round;

        public Heartbeat Next(long i)
        {
            int index = (int)(i % devices.Length);
            if (index == 0)
            {
                _round++;
            }

            return new Heartbeat(index, _topics[index], _codec.Encode(new Frame(FrameType.Heartbeat, devices[index].NumericId, _round, 0, 0, 0, [0, 0xFF]), _keys[index]));
        }
    }

    /// <summary>Frames sent and frames the reader had taken in when sending stopped.</summary>
    private readonly record struct Rate(long Sent, long Read, TimeSpan Elapsed)
    {
        public double ReadPerSecond => Read / Elapsed.TotalSeconds;
    }
}
