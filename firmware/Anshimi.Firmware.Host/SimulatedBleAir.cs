namespace Anshimi.Firmware.Host;

/// <summary>
/// The air between simulated BLE radios in one process: every advertising radio is heard by every scanning
/// radio once when it starts or changes its advertisement and then every <see cref="AdvertisingIntervalMs"/> on
/// the clock, with an RSSI from the log-distance path-loss model (deterministic: no fading, no loss).
/// Radios sit at positions in metres on a plane; move them to walk past a light.
/// </summary>
public sealed class SimulatedBleAir
{
    private readonly Lock _lock = new();
    private readonly List<SimulatedBleRadio> _radios = [];

    public SimulatedBleAir(ISchedulingClock clock, int advertisingIntervalMs = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(advertisingIntervalMs);
        Clock = clock;
        AdvertisingIntervalMs = advertisingIntervalMs;
    }

    /// <summary>RSSI at 1 m, dBm (a phone or module at 0 dBm).</summary>
    public const double RssiAtOneMetre = -59;

    /// <summary>Path-loss exponent: 2 is free space, a clear alley.</summary>
    public const double PathLossExponent = 2.0;

    public ISchedulingClock Clock { get; }

    public int AdvertisingIntervalMs { get; }

    public SimulatedBleRadio CreateRadio(string name, double x = 0, double y = 0)
    {
        var radio = new SimulatedBleRadio(this, name, x, y);
        lock (_lock)
        {
            _radios.Add(radio);
        }

        return radio;
    }

    /// <summary>The RSSI a receiver <paramref name="metres"/> away hears (1 m or less counts as 1 m).</summary>
    public static int RssiAt(double metres) => (int)Math.Round(RssiAtOneMetre - (10 * PathLossExponent * Math.Log10(Math.Max(1, metres))));

    internal void Deliver(SimulatedBleRadio from, byte[] data, int length)
    {
        SimulatedBleRadio[] radios;
        lock (_lock)
        {
            radios = [.. _radios];
        }

        foreach (SimulatedBleRadio to in radios)
        {
            if (to != from && to.Scanning)
            {
                double metres = Math.Sqrt(Math.Pow(to.X - from.X, 2) + Math.Pow(to.Y - from.Y, 2));
                to.Hear(data, length, RssiAt(metres));
            }
        }
    }
}
