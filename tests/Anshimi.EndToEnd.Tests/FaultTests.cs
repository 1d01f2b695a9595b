using Anshimi.DeviceSim;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// DESIGN §4 "No alarm is lost": 20 bells raise 200 alarms while one service is SIGKILLed at random
/// moments and started again; afterwards the cloud bridge must hold exactly the 200 alarms.
/// </summary>
[Trait("Category", "Fault")]
public sealed class FaultTests(ITestOutputHelper output)
{
    private const int Bells = 20;
    private const int PressesPerBell = 10;

    [Theory]
    [InlineData("gateway")]
    [InlineData("cloud-bridge")]
    public async Task Killing_a_service_at_random_moments_loses_and_doubles_no_alarm(string victimName)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        CancellationToken ct = cts.Token;
        int seed = Environment.GetEnvironmentVariable("ANSHIMI_FAULT_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine("seed " + seed + " (ANSHIMI_FAULT_SEED reproduces the kill schedule)");

        await using AnshimiSystem system = await AnshimiSystem.StartAsync(new AnshimiSystemOptions { DeviceCount = Bells }, ct);
        ServiceProcess victim = victimName == "gateway" ? system.Gateway : system.Cloud;
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, TextWriter.Synchronized(log), ct);
            using var pressing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task<int> killer = KillRepeatedlyAsync(victim, new Random(seed), pressing.Token);

            var presses = fleet.Devices.Select((bell, i) => PressRepeatedlyAsync(bell, new Random(seed + i + 1), ct)).ToArray();
            await Task.WhenAll(presses);
            await pressing.CancelAsync();
            int kills = await killer;
            output.WriteLine(victimName + " was SIGKILLed " + kills + " times");
            Assert.True(kills >= 3, "the schedule killed the service only " + kills + " times");

            await system.RestartAsync(victim, ct);
            Assert.All(fleet.Devices, bell => Assert.Equal(PressesPerBell, bell.Bell.AlarmsRaised));

            int stored = 0;
            await Fleet.Until(async () =>
            {
                stored = (await system.CloudAlarmsAsync(ct)).Length;
                return stored >= Bells * PressesPerBell && fleet.Devices.All(d => d.Bell.PendingAlarmCount == 0);
            }, TimeSpan.FromSeconds(120), "all alarms in the cloud bridge and every bell's queue empty", ct);

            // Let late resends and outbox retries land, then count again: nothing may be doubled.
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            var alarms = await system.CloudAlarmsAsync(ct);
            var keys = alarms.Select(a => a.GetProperty("key").GetString()!).ToList();
            Assert.Equal(Bells * PressesPerBell, keys.Count);
            Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
            foreach (SimulatedDevice bell in fleet.Devices)
            {
                Assert.Equal(PressesPerBell, alarms.Count(a => a.GetProperty("deviceId").GetString() == bell.Record.DeviceId));
            }
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    private static async Task PressRepeatedlyAsync(SimulatedDevice bell, Random random, CancellationToken ct)
    {
        for (int i = 0; i < PressesPerBell; i++)
        {
            bell.Button.Press(250);
            int raised = bell.Bell.AlarmsRaised;
            await Fleet.Until(() => bell.Bell.AlarmsRaised > raised, TimeSpan.FromSeconds(10), "press registered on " + bell.Record.DeviceId, ct);
            await Task.Delay(random.Next(300, 1500), ct);
        }
    }

    private static async Task<int> KillRepeatedlyAsync(ServiceProcess victim, Random random, CancellationToken ct)
    {
        int kills = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Kill at a random instant, including during startup and recovery.
                await Task.Delay(random.Next(200, 2500), ct);
                victim.Kill();
                kills++;
                await Task.Delay(random.Next(50, 800), ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            finally
            {
                if (!victim.IsRunning)
                {
                    victim.Start();
                }
            }
        }

        return kills;
    }
}
