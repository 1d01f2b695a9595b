using System.Globalization;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Bench;

/// <summary>
/// The child process that runs the whole simulated fleet on the real firmware core, apart from the
/// measuring process as real devices are separate machines. Its sessions are MQTTnet's async sockets,
/// so one process holds thousands of them.
/// Protocol on stdin/stdout, one line each: it prints <c>READY</c> once every bell is connected and
/// has sent a heartbeat, <c>SENT key unix-ticks</c> for each alarm frame's first send, and
/// <c>FRAMES n</c> before exiting; it reads <c>press DEVICEID</c> and <c>exit</c>.
/// </summary>
internal static class DeviceHost
{
    public static async Task<int> RunAsync(string fleetPath, string host, int port)
    {
        FleetFile fleet = FleetFile.Load(fleetPath);
        var output = TextWriter.Synchronized(Console.Out);
        var clock = new SystemClock();
        var bells = new Dictionary<string, (PanicBell Bell, SimulatedButton Button, MqttLink Link)>(StringComparer.Ordinal);
        // Streetlights speak only BLE; the sites benchmark runs a box's street in its airspace instead.
        foreach (DeviceRecord device in fleet.Devices.Where(d => d.Profile != StreetlightFleet.Profile))
        {
            var link = new MqttLink(MqttSession.Create(MqttLink.OptionsFor(device, host, port)), device.NumericId);
            var button = new SimulatedButton(clock);
            var config = new BellConfig(device.NumericId, device.Key) { LongPressMs = 100, DebounceMs = 20, HeartbeatIntervalMs = 10_000 };
            var timed = new TimedLink(link, device.NumericId, device.Key, (key, at) => output.WriteLine("SENT " + key + " " + at.UtcTicks.ToString(CultureInfo.InvariantCulture)));
            var bell = new PanicBell(config, clock, button, new SimulatedLed(clock), new MemoryDeviceStorage(), timed, new PlatformHmacSha256(), new SeededRandom());
            bells.Add(device.DeviceId, (bell, button, link));
        }

        using var ticking = new CancellationTokenSource();
        Thread[] tickers = Tickers.Start(bells.Values.Select(b => b.Bell).ToArray(), 2, ticking.Token);
        try
        {
            // Devices come online in waves, as a district's fleet does after a power cut, not all in one instant.
            foreach (var wave in bells.Values.Chunk(50))
            {
                foreach (var b in wave)
                {
                    b.Link.Start();
                }

                await Wait.UntilAsync(() => wave.All(b => b.Link.IsConnected), TimeSpan.FromMinutes(1), "a wave of bells connected", CancellationToken.None);
            }

            await Wait.UntilAsync(() => bells.Values.All(b => b.Bell.HeartbeatsSent > 0), TimeSpan.FromMinutes(1), "a heartbeat from every bell", CancellationToken.None);
            output.WriteLine("READY");
            while (Console.In.ReadLine() is { } line && line != "exit")
            {
                if (line.StartsWith("press ", StringComparison.Ordinal) && bells.TryGetValue(line[6..], out var bell))
                {
                    bell.Button.Press(150);
                }
            }

            output.WriteLine("FRAMES " + bells.Values.Sum(b => b.Bell.AlarmFramesSent).ToString(CultureInfo.InvariantCulture));
            return 0;
        }
        finally
        {
            await ticking.CancelAsync();
            foreach (Thread ticker in tickers)
            {
                ticker.Join();
            }

            await Task.WhenAll(bells.Values.Select(b => b.Link.DisposeAsync().AsTask()));
        }
    }
}

/// <summary>
/// A few device loops share threads, as a fleet shares real time. Each bell ticks every 25 ms:
/// presses are timestamped edges, so the tick rate does not delay them, and a slower loop keeps the
/// simulated fleet from taking the CPU that the measured services need.
/// </summary>
internal static class Tickers
{
    private const int TickMs = 25;

    public static Thread[] Start(PanicBell[] bells, int threads, CancellationToken ct)
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

                    Thread.Sleep(TickMs);
                }
            }) { IsBackground = true, Name = "ticker-" + t };
            result[t].Start();
        }

        return result;
    }
}

internal static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken ct, int pollMs = 50)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
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
