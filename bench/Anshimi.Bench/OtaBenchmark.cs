using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Bench;

/// <summary>
/// A firmware update of many Wi-Fi bells through one gateway (protocol/README.md §11): releases packed and signed by the
/// release tool, the bells running the loader and update client on their simulated flash in a few device processes, a
/// rollout started from the cloud bridge's API. Measures the time from the rollout's start to each bell's confirmation,
/// the bytes the box broker carried, the gateway's CPU and peak RSS while it served the update, and alarms pressed on
/// other bells of the same gateway before and during the update; baselines in the same run: the bare broker's QoS 1
/// round trip and the same chunk bytes sent once, and once per bell, between two plain clients.
/// </summary>
internal sealed class OtaBenchmark(int bellCount, int imageKib)
{
    private const int AlarmBells = 10;
    private const int BellsPerProcess = 250;
    private const int BaselineAlarms = 20;
    private const string ProbeUser = "probe";
    private const string FactoryVersion = "1.0.0";
    private const string NewVersion = "1.1.0";
    private static readonly TimeSpan AlarmEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan UpdateDeadline = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Gateway, DateTimeOffset Cloud, DateTimeOffset Feed)> _seen = new(StringComparer.Ordinal);
    private volatile bool _feedReady;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        Console.WriteLine($"firmware update: {bellCount} Wi-Fi bells through one gateway, image {imageKib} KiB, {Environment.ProcessorCount} cores");
        Console.WriteLine($"start {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {FailoverBenchmark.LoadAverage()}");
        string work = Directory.CreateTempSubdirectory("anshimi-ota-bench-").FullName;
        Releases releases = await PackReleasesAsync(work, ct);
        Console.WriteLine($"releases packed by anshimi-release: {FactoryVersion} (factory) and {NewVersion}, {releases.ImageBytes} image bytes in {releases.ChunkSizes.Length} chunks of ≤ {releases.ChunkSizes.Max()} B");

        var options = new AnshimiSystemOptions { DeviceCount = bellCount + AlarmBells, GatewayId = "gw-bench", Seed = 1, Profiles = ["home"], BrokerStatistics = true };
        options.ProbeUsers[ProbeUser] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        options.CloudEnvironment["Firmware__ReleaseKeys__0"] = releases.PublicKeyHex;

        // The box's installed timing, not the test harness's quick resends.
        options.GatewayEnvironment["Gateway__OutboxRetryInterval"] = "00:00:05";
        options.GatewayEnvironment["Gateway__OutboxRetryMaxInterval"] = "00:05:00";
        options.GatewayEnvironment["Gateway__HeartbeatInterval"] = "00:00:30";
        options.CloudEnvironment["CloudBridge__AckRetryInterval"] = "00:00:02";
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);

        DeviceRecord[] updating = [.. system.Fleet.Devices.Take(bellCount)];
        DeviceRecord[] alarming = [.. system.Fleet.Devices.Skip(bellCount)];
        var hosts = new List<Process>();
        int ready = 0;
        var versions = new ConcurrentBag<string>();
        Process? alarmHost = null;
        bool alarmHostReady = false;
        try
        {
            var connect = Stopwatch.StartNew();
            foreach ((DeviceRecord[] slice, int index) in updating.Chunk(BellsPerProcess).Select((s, i) => (s, i)))
            {
                string directory = Path.Combine(work, "devices-" + index.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(directory);
                string fleetPath = Path.Combine(directory, "fleet.json");
                new FleetFile(system.Fleet.GatewayId, slice).Save(fleetPath);
                hosts.Add(StartOtaHost(fleetPath, system.Broker, directory, releases, line =>
                {
                    if (line == "READY")
                    {
                        Interlocked.Increment(ref ready);
                    }
                    else if (line.StartsWith("VERSIONS ", StringComparison.Ordinal))
                    {
                        versions.Add(line[9..]);
                    }
                }));
            }

            await Wait.UntilAsync(() => ready == hosts.Count || hosts.Any(h => h.HasExited), TimeSpan.FromMinutes(10), "the bells' device processes ready", ct);
            if (ready != hosts.Count)
            {
                throw new InvalidOperationException("a device process exited before its bells were connected (see its devices.log under " + work + ")");
            }

            Console.WriteLine($"{bellCount} bells with the loader connected after {connect.Elapsed.TotalSeconds:F1} s, in {hosts.Count} device process{(hosts.Count == 1 ? "" : "es")}");

            string alarmFleet = Path.Combine(work, "alarm-fleet.json");
            new FleetFile(system.Fleet.GatewayId, alarming).Save(alarmFleet);
            alarmHost = LatencyBenchmark.StartHost(alarmFleet, system.Broker, line =>
            {
                if (line == "READY")
                {
                    alarmHostReady = true;
                }
                else if (line.StartsWith("SENT ", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ');
                    _sent.TryAdd(parts[1], new DateTimeOffset(long.Parse(parts[2], CultureInfo.InvariantCulture), TimeSpan.Zero));
                }
            });
            await Wait.UntilAsync(() => alarmHostReady || alarmHost.HasExited, TimeSpan.FromMinutes(2), "the alarm bells ready", ct);

            HashSet<string> updatingIds = [.. updating.Select(d => d.DeviceId)];
            var eligibleWait = Stopwatch.StartNew();
            await UntilAsync(async () => (await DevicesAsync(system, ct)).Count(d => updatingIds.Contains(Text(d, "deviceId")!) && Text(d, "runningVersion") == FactoryVersion) == bellCount,
                TimeSpan.FromMinutes(5), "every bell's version reported to the cloud", ct);
            Console.WriteLine($"every bell's running version {FactoryVersion} known to the cloud after {eligibleWait.Elapsed.TotalSeconds:F1} s more");

            await using MqttSession probePub = MqttSession.Create(system.Broker.ClientOptions(ProbeUser));
            await using MqttSession probeSub = MqttSession.Create(system.Broker.ClientOptions(ProbeUser));
            await using MqttSession probeStats = MqttSession.Create(system.Broker.ClientOptions(ProbeUser));
            await probePub.ConnectAsync(ct);
            await probeSub.ConnectAsync(ct);
            await probeStats.ConnectAsync(ct);
            var broker = await BrokerCounters.StartAsync(probeStats, ct);

            using var feed = new CancellationTokenSource();
            Task watcher = LatencyBenchmark.WatchFeedAsync(system, () => _feedReady = true, (key, raised, received, now) => _seen.TryAdd(key, (raised, received, now)), feed.Token);
            await Wait.UntilAsync(() => _feedReady, TimeSpan.FromSeconds(60), "the live feed", ct);

            // Baselines, before the update and with the same bells connected.
            Percentiles idleRtt = await LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, 0, ct);
            BrokerTraffic quietBefore = await broker.SnapshotAsync(ct);
            await Task.Delay(TimeSpan.FromSeconds(20), ct);
            BrokerTraffic quietAfter = await broker.SnapshotAsync(ct);
            BrokerTraffic quiet = quietAfter.Minus(quietBefore);
            double quietSeconds = (quietAfter.At - quietBefore.At).TotalSeconds;
            Transfer once = await BareTransferAsync(broker, probePub, probeSub, releases.ChunkSizes, 1, ct);
            Transfer fleetBytes = await BareTransferAsync(broker, probePub, probeSub, releases.ChunkSizes, bellCount, ct);

            var pressing = Stopwatch.StartNew();
            await LatencyBenchmark.PressAsync([.. Enumerable.Range(0, BaselineAlarms).Select(i => (alarmHost, alarming[i % alarming.Length].DeviceId))], 1, ct);
            await Wait.UntilAsync(() => _sent.Count >= BaselineAlarms && _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(2), "the alarms before the update", ct);

            // The update.
            string gatewayPid = Pid(system.Gateway.ProcessId);
            string brokerPid = Pid(system.Broker.ProcessId);
            string cloudPid = Pid(system.Cloud.ProcessId);
            long gatewayRssBefore = ResidentBytes(gatewayPid);
            await File.WriteAllTextAsync("/proc/" + gatewayPid + "/clear_refs", "5", ct);
            BrokerTraffic updateBefore = await broker.SnapshotAsync(ct);
            var cpu = new CpuShare(gatewayPid, brokerPid, cloudPid);
            var cpuHosts = new CpuShare([.. hosts.Select(h => h.Id.ToString(CultureInfo.InvariantCulture))]);
            var machine = new CpuShare([gatewayPid, brokerPid, cloudPid, .. hosts.Select(h => h.Id.ToString(CultureInfo.InvariantCulture))]);
            DateTimeOffset started = DateTimeOffset.UtcNow;
            string releaseId = await UploadAsync(system, releases.NewRelease, ct);
            DeviceRecord canary = updating[0];
            using HttpResponseMessage response = await system.Http.PostAsJsonAsync(new Uri(system.CloudUri, "api/firmware/rollouts"), new
            {
                releaseId,
                canary = new[] { canary.DeviceId },
                districtCode = canary.DistrictCode,
            }, ct);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException("the rollout was refused: " + await response.Content.ReadAsStringAsync(ct));
            }

            string rolloutId = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("rolloutId").GetString()!;
            Console.WriteLine($"rollout {rolloutId} of release {releaseId} started {started:HH:mm:ss}: canary {canary.DeviceId}, district {canary.DistrictCode}, then all");

            using var stopAlarms = new CancellationTokenSource();
            Task alarmsDuring = PressDuringAsync(alarmHost, alarming, stopAlarms.Token);
            Task<Percentiles> rttDuring = LatencyBenchmark.BrokerRoundTripsAsync(probePub, probeSub, 300, 300, ct);
            (Dictionary<string, DateTimeOffset> confirmed, List<(string Stage, DateTimeOffset At)> stages, string outcome) =
                await FollowAsync(system, rolloutId, releaseId, updatingIds, started, ct);
            DateTimeOffset ended = DateTimeOffset.UtcNow;

            string cpuUsed = cpu.Describe();
            string cpuHostsUsed = cpuHosts.Describe();
            string machineUsed = machine.DescribeAgainstMachine();
            long gatewayPeak = system.Gateway.PeakResidentBytes() ?? 0;
            long cloudPeak = system.Cloud.PeakResidentBytes() ?? 0;
            BrokerTraffic updateAfter = await broker.SnapshotAsync(ct);
            await stopAlarms.CancelAsync();
            await alarmsDuring;
            Percentiles rttUnderLoad = await rttDuring;
            await Wait.UntilAsync(() => _sent.Keys.All(_seen.ContainsKey), TimeSpan.FromMinutes(2), "every alarm on the live feed", ct);
            await feed.CancelAsync();
            await watcher;
            JsonElement rollout = await system.Http.GetFromJsonAsync<JsonElement>(new Uri(system.CloudUri, "api/firmware/rollouts/" + rolloutId), ct);
            Dictionary<string, string> stageOf = rollout.GetProperty("devices").EnumerateArray().ToDictionary(d => Text(d, "deviceId")!, d => Text(d, "stage")!, StringComparer.Ordinal);

            foreach (Process host in hosts)
            {
                await host.StandardInput.WriteLineAsync("exit");
            }

            await Task.WhenAll(hosts.Select(h => h.WaitForExitAsync(ct)));
            await alarmHost.StandardInput.WriteLineAsync("exit");
            await alarmHost.WaitForExitAsync(ct);

            TimeSpan window = ended - started;
            BrokerTraffic carried = updateAfter.Minus(updateBefore);
            double scale = (updateAfter.At - updateBefore.At).TotalSeconds / quietSeconds;
            double netReceived = carried.Received - quiet.Received * scale;
            double netSent = carried.Sent - quiet.Sent * scale;
            var toConfirmed = new Percentiles(confirmed.Values.Select(at => (at - started).TotalMilliseconds));
            DateTimeOffset? allStage = stages.FirstOrDefault(s => s.Stage == "all").At is { } at && at != default ? at : null;
            var inAllStage = new Percentiles(allStage is null ? [] : confirmed.Where(c => stageOf.GetValueOrDefault(c.Key) == "all").Select(c => (c.Value - allStage.Value).TotalMilliseconds));
            (Percentiles before, Percentiles during) = AlarmLatencies(started, ended);
            long payloadToBells = (long)releases.ImageBytes * confirmed.Count;

            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| rollout outcome | {outcome}: {confirmed.Count} of {bellCount} bells confirmed {NewVersion}; device processes' loaders report {string.Join("; ", versions)} |");
            Console.WriteLine($"| stages (start after the rollout's start) | {string.Join(", ", stages.Select(s => s.Stage + " " + Seconds(s.At - started)))} |");
            Console.WriteLine($"| rollout start → bell confirmed, every bell | {Describe(toConfirmed)} |");
            Console.WriteLine($"| stage \"all\" start → bell confirmed, its bells | {Describe(inAllStage)} |");
            Console.WriteLine($"| rollout start → last bell confirmed (the whole update) | {Seconds(window)} |");
            Console.WriteLine($"| broker bytes during the update, received + sent (of which PUBLISH payload) | {Mib(carried.Received)} + {Mib(carried.Sent)} = {Mib(carried.Total)} ({Mib(carried.PayloadReceived)} + {Mib(carried.PayloadSent)}) |");
            Console.WriteLine($"| … less the quiet rate before the update ({quiet.Received / quietSeconds / 1024:F1} + {quiet.Sent / quietSeconds / 1024:F1} KiB/s × {Seconds(updateAfter.At - updateBefore.At)}) | {Mib(netReceived)} + {Mib(netSent)} = {Mib(netReceived + netSent)} |");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| image bytes the bells received (image × bells confirmed); the update's broker bytes received / sent per such byte | {Mib(payloadToBells)}; {netReceived / Math.Max(1, payloadToBells):F3} / {netSent / Math.Max(1, payloadToBells):F3} |"));
            Console.WriteLine($"| baseline: the image's chunks once, probe → probe, QoS 1, one publish at a time | {once.Describe(releases.ImageBytes)} |");
            Console.WriteLine($"| baseline: the image's chunks × {bellCount}, the same way | {fleetBytes.Describe((long)releases.ImageBytes * bellCount)} |");
            Console.WriteLine($"| bare broker QoS 1 publish→receive, idle / during the update | {idleRtt.Describe()} / {rttUnderLoad.Describe()} |");
            Console.WriteLine($"| alarm press → stored by the gateway, before / during the update | {before.Describe()} / {during.Describe()} |");
            Console.WriteLine($"| CPU during the update ({Seconds(window)}): gateway / Mosquitto / cloud bridge | {cpuUsed} |");
            Console.WriteLine($"| CPU during the update: the bells' device processes together | {cpuHostsUsed} |");
            Console.WriteLine($"| CPU during the update: all of these, and the machine | {machineUsed} |");
            Console.WriteLine($"| gateway RSS before the update (VmRSS) / peak during it (VmHWM) | {Mb(gatewayRssBefore)} / {Mb(gatewayPeak)} |");
            Console.WriteLine($"| cloud bridge peak RSS since its start (VmHWM) | {Mb(cloudPeak)} |");
            Console.WriteLine();
            Console.WriteLine($"end {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {FailoverBenchmark.LoadAverage()}; bells' state under {work}");
            return confirmed.Count == bellCount ? 0 : 1;
        }
        finally
        {
            foreach (Process host in hosts.Append(alarmHost).OfType<Process>())
            {
                if (!host.HasExited)
                {
                    host.Kill();
                }

                host.Dispose();
            }
        }
    }

    /// <summary>The factory release and its successor, packed and signed by the release tool with a key it made.</summary>
    private async Task<Releases> PackReleasesAsync(string work, CancellationToken ct)
    {
        string tool = RepoPaths.ProjectOutput("firmware/Anshimi.Release", "anshimi-release.dll");
        string key = Path.Combine(work, "city-release.key");
        (await ProcessRunner.RunAsync("dotnet", [tool, "keygen", "--out", key], TimeSpan.FromMinutes(2), ct)).EnsureSuccess();
        string publicKey = (await File.ReadAllTextAsync(key + ".pub", ct)).Trim();

        // The entry assembly tells the simulated start how the image behaves; the rest stands for the application's other
        // assemblies, whose bytes are incompressible like real .pe files.
        const int EntryBytes = 6000;
        int imageBytes = imageKib * 1024;
        var random = new Random(15);
        byte[] core = new byte[Math.Max(1, imageBytes - EntryBytes)];
        random.NextBytes(core);
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string version in new[] { FactoryVersion, NewVersion })
        {
            string directory = Path.Combine(work, "release-" + version);
            Directory.CreateDirectory(directory);
            string entry = Path.Combine(directory, "Anshimi.Bell.Device.pe");
            string rest = Path.Combine(directory, "Anshimi.Firmware.Core.pe");
            await File.WriteAllBytesAsync(entry, SimulatedApplicationStarter.ImageText("bell " + version, SimulatedImageBehaviour.Normal, EntryBytes), ct);
            await File.WriteAllBytesAsync(rest, core, ct);
            string output = Path.Combine(work, "bell-" + version + ".arel");
            (await ProcessRunner.RunAsync("dotnet",
                [tool, "pack", "--key", key, "--version", version, "--minimum", FactoryVersion, "--floor", FactoryVersion,
                    "--kind", "home", "--kind", "shop", "--kind", "voice", "--board", "home-bell", "--board", "voice-bell",
                    "--entry", "Anshimi.Bell.Device.Program", "--out", output, entry, rest],
                TimeSpan.FromMinutes(2), ct)).EnsureSuccess();
            paths[version] = output;
        }

        int total = EntryBytes + core.Length;
        int chunk = Anshimi.Protocol.Releases.ReleasePacker.DefaultChunkSize;
        int[] chunkSizes = [.. Enumerable.Range(0, (total + chunk - 1) / chunk).Select(i => Math.Min(chunk, total - i * chunk))];
        return new Releases(publicKey, paths[FactoryVersion], await File.ReadAllBytesAsync(paths[NewVersion], ct), total, chunkSizes);
    }

    private static Process StartOtaHost(string fleetPath, MosquittoBroker broker, string stateRoot, Releases releases, Action<string> onLine)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[]
                 {
                     typeof(OtaBenchmark).Assembly.Location, "ota-host", fleetPath, broker.Host, broker.Port.ToString(CultureInfo.InvariantCulture), stateRoot,
                     releases.PublicKeyHex, releases.FactoryPath,
                 })
        {
            info.ArgumentList.Add(argument);
        }

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

    /// <summary>
    /// Follows the rollout until every bell is confirmed or it stops: each bell's confirmation time is the one the gateway
    /// stamped on the state it relayed (<c>reportedAt</c>); stage changes are seen by polling, to within its period.
    /// </summary>
    private static async Task<(Dictionary<string, DateTimeOffset> Confirmed, List<(string Stage, DateTimeOffset At)> Stages, string Outcome)> FollowAsync(
        AnshimiSystem system, string rolloutId, string releaseId, HashSet<string> bells, DateTimeOffset started, CancellationToken ct)
    {
        var confirmed = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var stages = new List<(string Stage, DateTimeOffset At)>();
        var clock = Stopwatch.StartNew();
        TimeSpan nextProgress = TimeSpan.FromSeconds(15);
        string state = "running";
        while (clock.Elapsed < UpdateDeadline)
        {
            JsonElement rollout = await system.Http.GetFromJsonAsync<JsonElement>(new Uri(system.CloudUri, "api/firmware/rollouts/" + rolloutId), ct);
            state = Text(rollout, "state") ?? "?";
            string stage = Text(rollout, "stage") ?? "?";
            if (stages.Count == 0 || stages[^1].Stage != stage)
            {
                stages.Add((stage, stages.Count == 0 ? started : DateTimeOffset.UtcNow));
            }

            JsonElement[] devices = await DevicesAsync(system, ct);
            foreach (JsonElement device in devices)
            {
                string id = Text(device, "deviceId")!;
                if (bells.Contains(id) && Text(device, "state") == "confirmed" && Text(device, "releaseId") == releaseId && !confirmed.ContainsKey(id))
                {
                    confirmed[id] = device.GetProperty("reportedAt").GetDateTimeOffset();
                }
            }

            if (clock.Elapsed >= nextProgress)
            {
                nextProgress += TimeSpan.FromSeconds(15);
                IEnumerable<string> counts = devices.Where(d => bells.Contains(Text(d, "deviceId")!)).GroupBy(d => Text(d, "state") ?? "?")
                    .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key + " " + g.Count().ToString(CultureInfo.InvariantCulture));
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:F0} s: rollout {state}, stage {stage}; bells {string.Join(", ", counts)}");
            }

            if (confirmed.Count == bells.Count || state is "completed" or "halted" or "cancelled")
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }

        return (confirmed, stages, clock.Elapsed >= UpdateDeadline ? "unfinished after " + UpdateDeadline.TotalMinutes + " min (" + state + ")" : state);
    }

    private static async Task PressDuringAsync(Process host, DeviceRecord[] bells, CancellationToken ct)
    {
        try
        {
            for (int i = 0; ; i++)
            {
                await host.StandardInput.WriteLineAsync("press " + bells[i % bells.Length].DeviceId);
                await host.StandardInput.FlushAsync(ct);
                await Task.Delay(AlarmEvery, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private (Percentiles Before, Percentiles During) AlarmLatencies(DateTimeOffset started, DateTimeOffset ended)
    {
        var before = new List<double>();
        var during = new List<double>();
        foreach ((string key, DateTimeOffset sent) in _sent)
        {
            if (!_seen.TryGetValue(key, out var seen))
            {
                continue;
            }

            double ms = (seen.Gateway - sent).TotalMilliseconds;
            if (sent < started)
            {
                before.Add(ms);
            }
            else if (sent <= ended)
            {
                during.Add(ms);
            }
        }

        return (new Percentiles(before), new Percentiles(during));
    }

    /// <summary>
    /// The chunk sizes sent <paramref name="copies"/> times from one plain client to another over the same broker, QoS 1,
    /// each publish awaited before the next as the gateway serves them; timed until the subscriber has every message.
    /// </summary>
    private static async Task<Transfer> BareTransferAsync(BrokerCounters broker, MqttSession publisher, MqttSession subscriber, int[] chunkSizes, int copies, CancellationToken ct)
    {
        string topic = "probe/image/" + Guid.NewGuid().ToString("N")[..8];
        long received = 0;
        await subscriber.SubscribeAsync(topic, MqttQos.AtLeastOnce, (_, _) =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        }, ct);
        byte[][] chunks = [.. chunkSizes.Select(size => new byte[size])];
        foreach (byte[] chunk in chunks)
        {
            Random.Shared.NextBytes(chunk);
        }

        long expected = (long)chunks.Length * copies;
        BrokerTraffic before = await broker.SnapshotAsync(ct);
        var clock = Stopwatch.StartNew();
        for (int copy = 0; copy < copies; copy++)
        {
            foreach (byte[] chunk in chunks)
            {
                await publisher.PublishAsync(topic, chunk, MqttQos.AtLeastOnce, false, ct);
            }
        }

        await Wait.UntilAsync(() => Interlocked.Read(ref received) >= expected, TimeSpan.FromMinutes(5), "the bare transfer", ct, pollMs: 1);
        TimeSpan elapsed = clock.Elapsed;
        BrokerTraffic after = await broker.SnapshotAsync(ct);
        return new Transfer(elapsed, after.Minus(before));
    }

    private static async Task<string> UploadAsync(AnshimiSystem system, byte[] file, CancellationToken ct)
    {
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await system.Http.PostAsync(new Uri(system.CloudUri, "api/firmware/releases"), content, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("releaseId").GetString()!;
    }

    private static async Task<JsonElement[]> DevicesAsync(AnshimiSystem system, CancellationToken ct) =>
        (await system.Http.GetFromJsonAsync<JsonElement[]>(new Uri(system.CloudUri, "api/firmware/devices"), ct))!;

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(1000, ct);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Pid(int? pid) => (pid ?? throw new InvalidOperationException("a process of the system is not running")).ToString(CultureInfo.InvariantCulture);

    private static long ResidentBytes(string pid) =>
        long.Parse(File.ReadLines("/proc/" + pid + "/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;

    private static string Describe(Percentiles p) => p.Count == 0
        ? "none"
        : string.Create(CultureInfo.InvariantCulture, $"n={p.Count}  p50={p[50] / 1000:F1} s  p99={p[99] / 1000:F1} s  max={p.Max / 1000:F1} s");

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s";

    internal static string Mib(double bytes) => (bytes / 1048576.0).ToString("F2", CultureInfo.InvariantCulture) + " MiB";

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    private sealed record Releases(string PublicKeyHex, string FactoryPath, byte[] NewRelease, int ImageBytes, int[] ChunkSizes);

    private sealed record Transfer(TimeSpan Elapsed, BrokerTraffic Carried)
    {
        public string Describe(long imageBytes) => string.Create(CultureInfo.InvariantCulture,
            $"{Elapsed.TotalSeconds:F2} s; broker {Mib(Carried.Received)} + {Mib(Carried.Sent)} = {Mib(Carried.Total)} for {Mib(imageBytes)} of chunks (the quiet rate included)");
    }
}

/// <summary>Mosquitto's byte counters at one moment: all bytes received and sent, and the PUBLISH payload bytes of each.</summary>
internal sealed record BrokerTraffic(DateTimeOffset At, long Received, long Sent, long PayloadReceived, long PayloadSent)
{
    public long Total => Received + Sent;

    public BrokerTraffic Minus(BrokerTraffic earlier) =>
        new(At, Received - earlier.Received, Sent - earlier.Sent, PayloadReceived - earlier.PayloadReceived, PayloadSent - earlier.PayloadSent);
}

/// <summary>
/// Mosquitto's own counters (<c>$SYS/broker/bytes/…</c>, <c>$SYS/broker/publish/bytes/…</c>), which it publishes every
/// second when the broker is configured so: the bytes it read from and wrote to every client, MQTT framing included.
/// </summary>
internal sealed class BrokerCounters
{
    private const string Root = "$SYS/broker/";
    private static readonly string[] Names = ["bytes/received", "bytes/sent", "publish/bytes/received", "publish/bytes/sent"];
    private readonly ConcurrentDictionary<string, long> _values = new(StringComparer.Ordinal);
    private long _updates;

    public static async Task<BrokerCounters> StartAsync(MqttSession session, CancellationToken ct)
    {
        var counters = new BrokerCounters();
        foreach (string name in Names)
        {
            await session.SubscribeAsync(Root + name, MqttQos.AtMostOnce, (message, _) =>
            {
                if (long.TryParse(System.Text.Encoding.ASCII.GetString(message.Payload), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                {
                    counters._values[message.Topic[Root.Length..]] = value;
                    if (message.Topic.EndsWith("/bytes/sent", StringComparison.Ordinal) && !message.Topic.Contains("publish", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref counters._updates);
                    }
                }

                return Task.CompletedTask;
            }, ct);
        }

        await Wait.UntilAsync(() => Names.All(counters._values.ContainsKey), TimeSpan.FromSeconds(30), "the broker's $SYS counters", ct);
        return counters;
    }

    /// <summary>The counters as the broker published them at least one full interval after this call.</summary>
    public async Task<BrokerTraffic> SnapshotAsync(CancellationToken ct)
    {
        long seen = Interlocked.Read(ref _updates);
        await Wait.UntilAsync(() => Interlocked.Read(ref _updates) >= seen + 2, TimeSpan.FromSeconds(30), "the broker's $SYS counters", ct);
        return new BrokerTraffic(DateTimeOffset.UtcNow, _values[Names[0]], _values[Names[1]], _values[Names[2]], _values[Names[3]]);
    }
}
