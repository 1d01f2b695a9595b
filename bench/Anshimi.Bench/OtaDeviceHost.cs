using System.Globalization;
using Anshimi.DeviceSim;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Bench;

/// <summary>
/// A child process of the firmware-update benchmark: the bells of its fleet file as anshimi-sim runs them with the loader
/// (<see cref="SimulatedFleet"/> with <see cref="SimulatedFirmwareOptions"/>: each bell its own broker session, the real
/// <c>SlotLoader</c> and <c>UpdateClient</c> on its own simulated flash directory, the factory release in slot a).
/// Protocol on stdin/stdout, one line each: <c>READY</c> once every bell is connected; on <c>exit</c> it prints
/// <c>VERSIONS v=n …</c>, the bells counted by the version their loader runs, and stops.
/// </summary>
internal static class OtaDeviceHost
{
    public static async Task<int> RunAsync(string fleetPath, string host, int port, string stateRoot, string publicKeyHex, string factoryReleasePath)
    {
        FleetFile fleet = FleetFile.Load(fleetPath);
        var firmware = new SimulatedFirmwareOptions
        {
            TrustedKeys = [Convert.FromHexString(publicKeyHex)],
            FactoryReleases = [File.ReadAllBytes(factoryReleasePath)],
        };
        using var log = TextWriter.Synchronized(new StreamWriter(Path.Combine(stateRoot, "devices.log")) { AutoFlush = true });
        var fleets = new List<SimulatedFleet>();
        try
        {
            // Devices come online in waves, as in the other benchmarks' device processes.
            foreach (DeviceRecord[] wave in fleet.Devices.Chunk(50))
            {
                SimulatedFleet started = SimulatedFleet.Start(wave, host, port, stateRoot, log, firmware: firmware);
                fleets.Add(started);
                await Wait.UntilAsync(() => started.Devices.All(d => d.Link is { IsConnected: true }), TimeSpan.FromMinutes(2), "a wave of bells connected", CancellationToken.None);
            }

            Console.WriteLine("READY");
            while (Console.In.ReadLine() is { } line && line != "exit")
            {
            }

            IEnumerable<string> versions = fleets.SelectMany(f => f.Devices)
                .GroupBy(d => d.Updates?.Boot.Record.ActiveVersion.ToString() ?? "none")
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => g.Key + "=" + g.Count().ToString(CultureInfo.InvariantCulture));
            Console.WriteLine("VERSIONS " + string.Join(' ', versions));
            return 0;
        }
        finally
        {
            foreach (SimulatedFleet started in fleets)
            {
                await started.DisposeAsync();
            }
        }
    }
}
