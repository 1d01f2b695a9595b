using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// DESIGN §4 "No alarm is lost", across sites: three gateway boxes, each with its own Mosquitto and gateway, linked
/// over TLS with their own certificates to the cloud's MQTT endpoint (<see cref="CloudEndpoint"/>), where one cloud
/// bridge stores the alarms. 20 bells per box raise 600 alarms while every box's gateway, every box broker and the
/// cloud bridge are SIGKILLed at random moments and started again on their data.
/// </summary>
[Trait("Category", "Sites")]
[Trait("Category", "Fault")]
public sealed class SitesFaultTests(ITestOutputHelper output)
{
    private const int Boxes = 3;
    private const int BellsPerBox = 20;
    private const int PressesPerBell = 10;
    private const int Alarms = Boxes * BellsPerBox * PressesPerBell;

    [Fact]
    public async Task Killing_boxes_their_brokers_and_the_cloud_bridge_at_random_moments_loses_and_doubles_no_alarm_of_three_sites()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        CancellationToken ct = cts.Token;
        int seed = Environment.GetEnvironmentVariable("ANSHIMI_FAULT_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine("seed " + seed + " (ANSHIMI_FAULT_SEED reproduces the kill schedule)");

        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct);
        var boxes = new List<AnshimiSystem>();
        var fleets = new List<SimulatedFleet>();
        using var log = new StringWriter();
        TextWriter fleetLog = TextWriter.Synchronized(log);
        try
        {
            for (int box = 0; box < Boxes; box++)
            {
                boxes.Add(await StartBoxAsync(endpoint, box, ct));
            }

            // One cloud: box 0's cloud bridge is the one on the endpoint; the others' harness bridges sit on their own box
            // brokers, where nothing upstream travels, so they are stopped rather than left to take a share of the cores.
            AnshimiSystem cloud = boxes[0];
            foreach (AnshimiSystem box in boxes.Skip(1))
            {
                await box.Cloud.StopAsync(TimeSpan.FromSeconds(10));
            }

            Dictionary<string, (string GatewayId, string? District)> homes = boxes
                .SelectMany(b => b.Fleet.Devices.Select(d => (d.DeviceId, Home: (b.Fleet.GatewayId, d.DistrictCode))))
                .ToDictionary(d => d.DeviceId, d => d.Home, StringComparer.Ordinal);
            Assert.Equal(Boxes * BellsPerBox, homes.Count);
            Assert.All(homes.Values, h => Assert.NotNull(h.District));
            Assert.True(homes.Values.Select(h => h.District).Distinct().Count() > Boxes, "the bells stand in too few districts");

            foreach (AnshimiSystem box in boxes)
            {
                fleets.Add(await Fleet.StartAsync(box, fleetLog, ct));
            }

            var victims = new List<Victim>();
            foreach (AnshimiSystem box in boxes)
            {
                victims.Add(Victim.Of(box.Fleet.GatewayId + " gateway", box.Gateway));
                victims.Add(new Victim(box.Fleet.GatewayId + " broker", () => box.Broker.KillAsync(ct), () => box.Broker.StartAsync(ct), () => box.Broker.IsRunning));
            }

            victims.Add(Victim.Of("cloud bridge", cloud.Cloud));

            using var pressing = new CancellationTokenSource();
            Task<List<string>> killer = KillRepeatedlyAsync(victims, new Random(seed), pressing.Token, ct);
            SimulatedDevice[] bells = [.. fleets.SelectMany(f => f.Devices)];
            await Task.WhenAll(bells.Select((bell, i) => PressRepeatedlyAsync(bell, new Random(seed + i + 1), ct)));
            await pressing.CancelAsync();
            List<string> killed = await killer;
            output.WriteLine("SIGKILLed " + killed.Count + " times: " + string.Join(", ", killed));
            Assert.All(victims, v => Assert.Contains(v.Name, killed));

            foreach (AnshimiSystem box in boxes)
            {
                if (!box.Broker.IsRunning)
                {
                    await box.Broker.StartAsync(ct);
                }

                await box.RestartAsync(box.Gateway, ct);
            }

            await cloud.RestartAsync(cloud.Cloud, ct);
            Assert.All(bells, bell => Assert.Equal(PressesPerBell, bell.Bell.AlarmsRaised));

            await Fleet.Until(
                async () => (await CloudAlarmsAsync(cloud, ct)).Length >= Alarms && bells.All(b => b.Bell.PendingAlarmCount == 0),
                TimeSpan.FromSeconds(180), "all 600 alarms in the cloud and every bell's queue empty", ct);

            // Let late resends and outbox retries land, then count again: nothing may be doubled.
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            JsonElement[] alarms = await CloudAlarmsAsync(cloud, ct);
            Assert.Equal(Alarms, alarms.Length);
            Assert.Equal(Alarms, alarms.Select(a => a.GetProperty("key").GetString()).Distinct(StringComparer.Ordinal).Count());
            foreach (JsonElement alarm in alarms)
            {
                (string gatewayId, string? district) = homes[alarm.GetProperty("deviceId").GetString()!];
                Assert.Equal(district, alarm.GetProperty("district").GetProperty("code").GetString());
                Assert.Equal(gatewayId, alarm.GetProperty("gatewayId").GetString());
            }

            foreach (SimulatedDevice bell in bells)
            {
                Assert.Equal(PressesPerBell, alarms.Count(a => a.GetProperty("deviceId").GetString() == bell.Record.DeviceId));
            }
        }
        finally
        {
            foreach (SimulatedFleet fleet in fleets)
            {
                await fleet.DisposeAsync();
            }

            output.WriteLine(log.ToString());
            foreach (AnshimiSystem box in boxes)
            {
                output.WriteLine(box.Gateway.ReadLog());
            }

            if (boxes.Count > 0)
            {
                output.WriteLine(boxes[0].Cloud.ReadLog());
            }

            foreach (AnshimiSystem box in boxes)
            {
                await box.DisposeAsync();
            }
        }
    }

    private static async Task<AnshimiSystem> StartBoxAsync(CloudEndpoint endpoint, int box, CancellationToken ct)
    {
        string gatewayId = "gw-site-" + box.ToString(CultureInfo.InvariantCulture);
        string credentials = await endpoint.IssueAsync(gatewayId, ct);
        var options = new AnshimiSystemOptions { GatewayId = gatewayId, DeviceCount = BellsPerBox, Profiles = ["home"], Seed = box + 1 };
        foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60)))
        {
            options.GatewayEnvironment[key] = value;
        }

        options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";
        foreach ((string key, string value) in endpoint.BridgeEnvironment())
        {
            options.CloudEnvironment[key] = value;
        }

        return await AnshimiSystem.StartAsync(options, ct);
    }

    /// <summary>Every alarm the cloud holds (the API's largest page: more than 600, so a doubled alarm would show).</summary>
    private static async Task<JsonElement[]> CloudAlarmsAsync(AnshimiSystem cloud, CancellationToken ct)
    {
        JsonElement alarms = await cloud.Http.GetFromJsonAsync<JsonElement>(new Uri(cloud.CloudUri, "api/alarms?limit=1000"), ct);
        return [.. alarms.EnumerateArray()];
    }

    private static async Task PressRepeatedlyAsync(SimulatedDevice bell, Random random, CancellationToken ct)
    {
        for (int i = 0; i < PressesPerBell; i++)
        {
            bell.Button.Press(250);
            int raised = bell.Bell.AlarmsRaised;
            await Fleet.Until(() => bell.Bell.AlarmsRaised > raised, TimeSpan.FromSeconds(10), "press registered on " + bell.Record.DeviceId, ct);
            await Task.Delay(random.Next(500, 3000), ct);
        }
    }

    /// <summary>
    /// Kills one victim at a time in a shuffled round, so every one dies at least once; keeps going until the presses
    /// are done and that first round is complete. A victim is started again after a short random outage.
    /// </summary>
    private static async Task<List<string>> KillRepeatedlyAsync(List<Victim> victims, Random random, CancellationToken pressing, CancellationToken ct)
    {
        var killed = new List<string>();
        while (!pressing.IsCancellationRequested || killed.Count < victims.Count)
        {
            Victim[] round = [.. victims];
            random.Shuffle(round);
            foreach (Victim victim in round)
            {
                if (pressing.IsCancellationRequested && killed.Count >= victims.Count)
                {
                    break;
                }

                await Task.Delay(random.Next(300, 2000), ct);
                await victim.Kill();
                killed.Add(victim.Name);
                await Task.Delay(random.Next(50, 800), ct);
                if (!victim.IsRunning())
                {
                    await victim.Start();
                }
            }
        }

        return killed;
    }

    private sealed record Victim(string Name, Func<Task> Kill, Func<Task> Start, Func<bool> IsRunning)
    {
        public static Victim Of(string name, ServiceProcess service) => new(
            name,
            () =>
            {
                service.Kill();
                return Task.CompletedTask;
            },
            () =>
            {
                service.Start();
                return Task.CompletedTask;
            },
            () => service.IsRunning);
    }
}
