using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Doorbell;
using Anshimi.Testing;

namespace Anshimi.EndToEnd.Tests;

/// <summary>Starting simulated bells against a running <see cref="AnshimiSystem"/>, and waiting on them.</summary>
internal static class Fleet
{
    /// <summary>Bell timings short enough for tests: a 150 ms deliberate press, resends capped at 2 s.</summary>
    public static void FastTimings(BellConfig config)
    {
        config.LongPressMs = 150;
        config.DebounceMs = 20;
        config.ResendInitialMs = 500;
        config.ResendMaxMs = 2000;
        config.HeartbeatIntervalMs = 5000;
    }

    /// <summary>Doorbell timings for tests: loitering after 3 s of motion, resends capped at 2 s.</summary>
    public static void FastDoorbellTimings(DoorbellConfig config)
    {
        config.LoiterMs = 3000;
        config.MotionGapMs = 1000;
        config.ResendInitialMs = 500;
        config.ResendMaxMs = 2000;
        config.HeartbeatIntervalMs = 5000;
        config.SnapshotAckTimeoutMs = 3000;
    }

    /// <summary>Runs the system's whole fleet (in its airspace, when it has one) and waits until every device with Wi-Fi is connected.</summary>
    public static async Task<SimulatedFleet> StartAsync(AnshimiSystem system, TextWriter log, CancellationToken cancellationToken)
    {
        SimulatedFleet fleet = SimulatedFleet.Start(
            system.Fleet.Devices, system.Broker.Host, system.Broker.Port, Path.Combine(system.Directory, "devices"), log, FastTimings,
            configureDoorbell: FastDoorbellTimings, airspace: system.Airspace);
        await Until(
            () => fleet.Devices.All(d => d.Link is null || d.Link.IsConnected) && fleet.Doorbells.All(d => d.Link.IsConnected),
            TimeSpan.FromSeconds(60),
            "every Wi-Fi device connected",
            cancellationToken);
        return fleet;
    }

    /// <summary>Waits until the cloud bridge holds an alarm of <paramref name="deviceId"/> and returns it as its API shows it.</summary>
    public static async Task<JsonElement> CloudAlarmOfAsync(AnshimiSystem system, string deviceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        JsonElement alarm = default;
        await Until(async () =>
        {
            alarm = (await system.CloudAlarmsAsync(cancellationToken)).FirstOrDefault(a => a.GetProperty("deviceId").GetString() == deviceId);
            return alarm.ValueKind == JsonValueKind.Object;
        }, timeout, "the alarm of " + deviceId + " in the cloud bridge", cancellationToken);
        return alarm;
    }

    /// <summary>Polls until the condition holds; fails with what was awaited when it does not in time.</summary>
    public static async Task Until(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        await Until(() => Task.FromResult(condition()), timeout, what, cancellationToken);
    }

    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out after " + timeout.TotalSeconds + " s waiting for: " + what);
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
