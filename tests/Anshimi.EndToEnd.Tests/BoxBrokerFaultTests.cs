using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// A box and the single-box install (box broker, gateway and cloud bridge as real processes) ride through their broker
/// dying: killed alone at random moments every client is back within 2 s of the broker listening again, the single box
/// killed whole at one instant loses and doubles nothing, and a BLE alarm while the broker cannot take acks is stored
/// at once. Each run prints its seed; <c>ANSHIMI_FAULT_SEED</c> replays the schedule.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Fault")]
public sealed class BoxBrokerFaultTests(ITestOutputHelper output)
{
    private const int Bells = 20;
    private const int PressesPerBell = 10;
    private const int MinKills = 4;

    /// <summary>Longest a client may take to be connected again, from the broker listening.</summary>
    private static readonly TimeSpan BackWithin = TimeSpan.FromSeconds(2);

    /// <param name="install">
    /// <c>single-box</c>: the gateway and the cloud bridge on the box broker. <c>box</c>: a box linked to the cloud's TLS
    /// endpoint with its own certificate, so only the gateway and the bells are the box broker's clients.
    /// </param>
    [Theory]
    [InlineData("single-box")]
    [InlineData("box")]
    public async Task Killing_the_box_broker_at_random_moments_loses_and_doubles_no_alarm_and_every_client_is_back_within_2_s(string install)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        CancellationToken ct = cts.Token;
        int seed = Seed();
        await using CloudEndpoint? endpoint = install == "box" ? await CloudEndpoint.StartAsync(ct) : null;
        var options = new AnshimiSystemOptions { DeviceCount = Bells };
        if (endpoint is not null)
        {
            string credentials = await endpoint.IssueAsync(options.GatewayId, ct);
            foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60)))
            {
                options.GatewayEnvironment[key] = value;
            }

            foreach ((string key, string value) in endpoint.BridgeEnvironment())
            {
                options.CloudEnvironment[key] = value;
            }
        }

        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        bool bridgeOnBox = endpoint is null;
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, TextWriter.Synchronized(log), ct);
            using var pressing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task<List<ClientReturn>> killer = KillBrokerRepeatedlyAsync(system, fleet, bridgeOnBox, new Random(seed), pressing.Token, ct);

            await Task.WhenAll(fleet.Devices.Select((bell, i) => PressRepeatedlyAsync(bell, new Random(seed + i + 1), ct)));
            await pressing.CancelAsync();
            List<ClientReturn> returns = await killer;

            int restarts = returns.Max(r => r.Restart);
            output.WriteLine("broker SIGKILLed and restarted " + restarts + " times");
            foreach (IGrouping<int, ClientReturn> restart in returns.GroupBy(r => r.Restart))
            {
                ClientReturn slowest = restart.MaxBy(r => r.After)!;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restart {restart.Key}: gateway {Ms(restart, "gateway")} ms, cloud bridge {(bridgeOnBox ? Ms(restart, "cloud-bridge") + " ms" : "not on the box")}, slowest {slowest.Client} {slowest.After.TotalMilliseconds:0} ms"));
            }

            Assert.True(restarts >= MinKills, "the broker was killed only " + restarts + " times");

            // Every client of the box broker, every time: the gateway, the cloud bridge on a single box, and each bell.
            Assert.Equal(restarts * ((bridgeOnBox ? 2 : 1) + fleet.Devices.Count(d => d.Link is not null)), returns.Count);
            Assert.All(returns, r => Assert.True(r.After <= BackWithin, $"{r.Client} was back {r.After.TotalMilliseconds:0} ms after restart {r.Restart}"));

            await AssertEveryAlarmOnceAsync(system, fleet, ct);
        }
        finally
        {
            WriteLogs(system, log);
            if (endpoint is not null)
            {
                output.WriteLine(endpoint.Broker.ReadLog());
            }
        }
    }

    [Fact]
    public async Task Killing_the_whole_single_box_at_one_instant_at_random_moments_loses_and_doubles_no_alarm()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        CancellationToken ct = cts.Token;
        int seed = Seed();
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = Bells }, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, TextWriter.Synchronized(log), ct);
            using var pressing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task<int> killer = KillBoxRepeatedlyAsync(system, new Random(seed), pressing.Token, ct);

            await Task.WhenAll(fleet.Devices.Select((bell, i) => PressRepeatedlyAsync(bell, new Random(seed + i + 1), ct)));
            await pressing.CancelAsync();
            int kills = await killer;
            output.WriteLine("box (broker, gateway, cloud bridge) SIGKILLed " + kills + " times");
            Assert.True(kills >= MinKills, "the box was killed only " + kills + " times");

            await system.RestartAsync(system.Cloud, ct);
            await system.RestartAsync(system.Gateway, ct);
            await AssertEveryAlarmOnceAsync(system, fleet, ct);
        }
        finally
        {
            WriteLogs(system, log);
        }
    }

    [Fact]
    public async Task A_BLE_alarm_while_the_broker_takes_no_ack_is_stored_at_once_and_the_kept_ack_reaches_the_MQTT_bell_when_the_broker_is_back()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        var options = new AnshimiSystemOptions { DeviceCount = 3, Profiles = ["home", "battery", "battery"], BleAirspace = true };
        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = SimulatedFleet.Start(
                system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), TextWriter.Synchronized(log),
                config =>
                {
                    Fleet.FastTimings(config);

                    // The home bell turns to BLE half a second after it lost the broker.
                    config.BleFallbackAfterMs = 500;
                },
                airspace: system.Airspace);
            SimulatedDevice home = fleet.Devices.Single(d => d.Link is not null);
            SimulatedDevice[] battery = [.. fleet.Devices.Where(d => d.Link is null)];
            await Fleet.Until(() => home.Link!.IsConnected, TimeSpan.FromSeconds(30), "the home bell connected", ct);

            // As for a bell long connected, its session is in the broker's persistence file (saved every second)
            // when the broker dies, so an ack published after the restart is kept for it.
            await Task.Delay(TimeSpan.FromSeconds(2), ct);

            // A hung broker: connections stay open, nothing is answered, so every ack to a device waits.
            system.Broker.Freeze();
            await PressAndWaitStoredAsync(system, battery[0], TimeSpan.FromSeconds(10), ct);

            // The first bell's ack is still waiting on the broker; the second alarm must not wait behind it.
            TimeSpan stored = await PressAndWaitStoredAsync(system, battery[1], TimeSpan.FromSeconds(10), ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"second BLE alarm stored {stored.TotalMilliseconds:0} ms after its press, the broker hung"));
            Assert.True(stored < TimeSpan.FromSeconds(3), "the BLE alarm took " + stored + " to be stored");
            Assert.Equal(2, await OutboxDepthAsync(system, ct));
            await Fleet.Until(() => battery.All(b => b.Bell.PendingAlarmCount == 0), TimeSpan.FromSeconds(10), "both battery bells heard their ack over BLE", ct);

            // The broker dies: the home bell turns to BLE, its alarm is stored, its ack over MQTT is kept.
            await system.Broker.KillAsync(ct);
            await Fleet.Until(() => !home.Link!.IsConnected, TimeSpan.FromSeconds(10), "the home bell lost the broker", ct);
            await PressAndWaitStoredAsync(system, home, TimeSpan.FromSeconds(10), ct);
            await Fleet.Until(() => home.Bell.PendingAlarmCount == 0, TimeSpan.FromSeconds(10), "the home bell heard its ack over BLE", ct);
            int acksHeard = home.Bell.Downlinks.AcksAccepted;
            Assert.True(await MetricAsync(system, "anshimi_gateway_acks_pending", ct) >= 1, "the home bell's ack over MQTT is kept");

            await system.Broker.StartAsync(ct);
            await Fleet.Until(() => home.Link!.IsConnected, TimeSpan.FromSeconds(10), "the home bell back on the broker", ct);

            // The bell heard nothing new over BLE (repeats of the ack on air count as replays): a new ack is the kept one.
            await Fleet.Until(() => home.Bell.Downlinks.AcksAccepted > acksHeard, TimeSpan.FromSeconds(10), "the kept ack reached the home bell over MQTT", ct);
            await Fleet.Until(async () => await MetricAsync(system, "anshimi_gateway_acks_pending", ct) == 0, TimeSpan.FromSeconds(10), "no ack left waiting", ct);

            // And the cloud bridge on the same broker gets each of the three alarms once.
            await AssertEveryAlarmOnceAsync(system, fleet, ct, perBell: 1);
        }
        finally
        {
            WriteLogs(system, log);
        }
    }

    private int Seed()
    {
        int seed = Environment.GetEnvironmentVariable("ANSHIMI_FAULT_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine("seed " + seed + " (ANSHIMI_FAULT_SEED reproduces the kill schedule)");
        return seed;
    }

    private static string Ms(IEnumerable<ClientReturn> returns, string client) =>
        returns.Single(r => r.Client == client).After.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);

    private static async Task<List<ClientReturn>> KillBrokerRepeatedlyAsync(AnshimiSystem system, SimulatedFleet fleet, bool bridgeOnBox, Random random, CancellationToken pressing, CancellationToken ct)
    {
        var returns = new List<ClientReturn>();
        int restart = 0;
        while (!pressing.IsCancellationRequested || restart < MinKills)
        {
            await Task.Delay(random.Next(200, 2000), ct);
            DateTimeOffset killed = DateTimeOffset.UtcNow;
            await system.Broker.KillAsync(ct);

            // Down long enough, at times, for every client to reach the reconnect policy's cap.
            await Task.Delay(random.Next(300, 3000), ct);
            await system.Broker.StartAsync(ct);
            restart++;
            returns.AddRange(await MeasureReturnsAsync(system, fleet, bridgeOnBox, restart, killed, ct));
        }

        return returns;
    }

    private static async Task<int> KillBoxRepeatedlyAsync(AnshimiSystem system, Random random, CancellationToken pressing, CancellationToken ct)
    {
        int kills = 0;
        while (!pressing.IsCancellationRequested || kills < MinKills)
        {
            // Any moment, including while the box is still starting up from the last kill.
            await Task.Delay(random.Next(300, 4000), ct);
            Task brokerDead = system.Broker.KillAsync(ct);
            system.Gateway.Kill();
            system.Cloud.Kill();
            await brokerDead;
            kills++;
            await Task.Delay(random.Next(100, 1500), ct);
            await system.Broker.StartAsync(ct);
            system.Gateway.Start();
            system.Cloud.Start();
        }

        return kills;
    }

    /// <summary>From the broker listening again to each client's connected state, for every client of the box.</summary>
    private static async Task<ClientReturn[]> MeasureReturnsAsync(AnshimiSystem system, SimulatedFleet fleet, bool bridgeOnBox, int restart, DateTimeOffset killed, CancellationToken ct)
    {
        DateTimeOffset listening = system.Broker.ListeningSince;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clients = new List<Task<ClientReturn>>
        {
            // The gateway says when its session connected; a "connected" from before the kill is one it has not noticed yet.
            PollAsync("gateway", restart, listening, async () =>
            {
                JsonElement mqtt = (await GatewayHealthAsync(system, http, ct)).GetProperty("mqtt");
                DateTimeOffset since = mqtt.GetProperty("since").GetDateTimeOffset();
                return mqtt.GetProperty("state").GetString() == "connected" && since > killed ? since : null;
            }, ct),
        };
        if (bridgeOnBox)
        {
            // The cloud bridge reports no time: the instant its health answer says subscribed again is an upper bound.
            clients.Add(PollAsync("cloud-bridge", restart, listening, async () =>
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri(system.CloudUri, "healthz"), ct);
                string body = await response.Content.ReadAsStringAsync(ct);
                return response.IsSuccessStatusCode && !body.Contains("degraded", StringComparison.OrdinalIgnoreCase) ? DateTimeOffset.UtcNow : null;
            }, ct));
        }

        clients.AddRange(fleet.Devices.Where(d => d.Link is not null).Select(bell =>
            PollAsync(bell.Record.DeviceId, restart, listening, () => Task.FromResult<DateTimeOffset?>(bell.Link!.IsConnected ? DateTimeOffset.UtcNow : null), ct)));
        return await Task.WhenAll(clients);
    }

    private static async Task<ClientReturn> PollAsync(string client, int restart, DateTimeOffset listening, Func<Task<DateTimeOffset?>> connectedAt, CancellationToken ct)
    {
        TimeSpan giveUp = TimeSpan.FromSeconds(10);
        while (DateTimeOffset.UtcNow - listening < giveUp)
        {
            try
            {
                if (await connectedAt() is { } at)
                {
                    return new ClientReturn(restart, client, at - listening);
                }
            }
            catch (HttpRequestException)
            {
                // Not answering yet.
            }

            await Task.Delay(20, ct);
        }

        return new ClientReturn(restart, client, giveUp);
    }

    private static async Task<JsonElement> GatewayHealthAsync(AnshimiSystem system, HttpClient http, CancellationToken ct)
    {
        // 503 while degraded, with the same body.
        using HttpResponseMessage response = await http.GetAsync(new Uri(system.GatewayUri, "healthz"), ct);
        return await response.Content.ReadFromJsonAsync<JsonElement>(ct);
    }

    private static async Task<int> OutboxDepthAsync(AnshimiSystem system, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (await GatewayHealthAsync(system, http, ct)).GetProperty("outboxDepth").GetInt32();
    }

    private static async Task<long> MetricAsync(AnshimiSystem system, string series, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return Prometheus.Value(await http.GetStringAsync(new Uri(system.GatewayUri, "metrics"), ct), series);
    }

    /// <summary>Presses the bell and returns how long after its press its alarm was committed to the gateway's file.</summary>
    private static async Task<TimeSpan> PressAndWaitStoredAsync(AnshimiSystem system, SimulatedDevice bell, TimeSpan timeout, CancellationToken ct)
    {
        long before = StoredAlarms(system, bell);
        int raised = bell.Bell.AlarmsRaised;
        DateTimeOffset pressed = DateTimeOffset.UtcNow;

        // Wakes a battery bell from deep sleep too.
        bell.Press(400);
        await Fleet.Until(() => bell.Bell.AlarmsRaised > raised, TimeSpan.FromSeconds(10), "press registered on " + bell.Record.DeviceId, ct);
        await Fleet.Until(() => StoredAlarms(system, bell) > before, timeout, "the alarm of " + bell.Record.DeviceId + " stored at the gateway", ct);
        return DateTimeOffset.UtcNow - pressed;
    }

    private static long StoredAlarms(AnshimiSystem system, SimulatedDevice bell)
    {
        string path = Path.Combine(system.Directory, "gateway", "gateway.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM alarms a JOIN outbox o USING (device_id, counter) WHERE a.device_id = $device";
        command.Parameters.AddWithValue("$device", (long)bell.Record.NumericId);
        return (long)command.ExecuteScalar()!;
    }

    private static async Task PressRepeatedlyAsync(SimulatedDevice bell, Random random, CancellationToken ct)
    {
        for (int i = 0; i < PressesPerBell; i++)
        {
            bell.Button.Press(250);
            int raised = bell.Bell.AlarmsRaised;
            await Fleet.Until(() => bell.Bell.AlarmsRaised > raised, TimeSpan.FromSeconds(10), "press registered on " + bell.Record.DeviceId, ct);
            await Task.Delay(random.Next(500, 2500), ct);
        }
    }

    private static async Task AssertEveryAlarmOnceAsync(AnshimiSystem system, SimulatedFleet fleet, CancellationToken ct, int perBell = PressesPerBell)
    {
        int expected = fleet.Devices.Count * perBell;
        Assert.All(fleet.Devices, bell => Assert.Equal(perBell, bell.Bell.AlarmsRaised));
        await Fleet.Until(async () =>
        {
            try
            {
                return (await system.CloudAlarmsAsync(ct)).Length >= expected && fleet.Devices.All(d => d.Bell.PendingAlarmCount == 0);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(120), "every alarm in the cloud bridge and every bell's queue empty", ct);

        // Let late resends and outbox retries land, then count again: nothing may be doubled.
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        JsonElement[] alarms = await system.CloudAlarmsAsync(ct);
        var keys = alarms.Select(a => a.GetProperty("key").GetString()!).ToList();
        Assert.Equal(expected, keys.Count);
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        foreach (SimulatedDevice bell in fleet.Devices)
        {
            Assert.Equal(perBell, alarms.Count(a => a.GetProperty("deviceId").GetString() == bell.Record.DeviceId));
        }
    }

    private void WriteLogs(AnshimiSystem system, StringWriter log)
    {
        output.WriteLine(log.ToString());
        output.WriteLine(system.Gateway.ReadLog());
        output.WriteLine(system.Cloud.ReadLog());
    }

    private sealed record ClientReturn(int Restart, string Client, TimeSpan After);
}
