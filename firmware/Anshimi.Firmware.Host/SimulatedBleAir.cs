namespace Anshimi.Firmware.Host;

/// <summary>
/// The air between simulated BLE radios in one process. Every scanning radio hears another radio's advertisement
/// once when it starts and then every interval the advertiser asked for, on the clock, so runs on a virtual clock
/// are deterministic; the RSSI comes from the log-distance path-loss model (no fading, no loss). Radios sit at
/// positions in metres on a plane; move them to walk past a light. A test stands outside any radio:
/// <see cref="Listen"/> hears what the radios put on the air, <see cref="Broadcast"/> sends as a gateway would.
/// </summary>
public sealed class SimulatedBleAir(ISchedulingClock clock)
{
    private readonly Lock _lock = new();
    private readonly List<SimulatedBleRadio> _radios = [];
    private readonly List<Listener> _listeners = [];

    /// <summary>Hears every advertisement a radio puts on the air, each repeat included.</summary>
    public delegate void Listener(byte[] data, int length);

    /// <summary>RSSI at 1 m, dBm (a phone or module at 0 dBm).</summary>
    public const double RssiAtOneMetre = -59;

    /// <summary>Path-loss exponent: 2 is free space, a clear alley.</summary>
    public const double PathLossExponent = 2.0;

    public ISchedulingClock Clock { get; } = clock;

    public SimulatedBleRadio CreateRadio(string name, double x = 0, double y = 0)
    {
        var radio = new SimulatedBleRadio(this, name, x, y);
        lock (_lock)
        {
            _radios.Add(radio);
        }

        return radio;
    }

    public void Listen(Listener listener)
    {
        lock (_lock)
        {
            _listeners.Add(listener);
        }
    }

    /// <summary>Sends an advertisement once from outside any radio, as a gateway at (<paramref name="x"/>, <paramref name="y"/>) sends a downlink.</summary>
    public void Broadcast(byte[] data, int length, double x = 0, double y = 0) => Deliver(null, x, y, data, length);

    /// <summary>The RSSI a receiver <paramref name="metres"/> away hears (1 m or less counts as 1 m).</summary>
    public static int RssiAt(double metres) => (int)Math.Round(RssiAtOneMetre - (10 * PathLossExponent * Math.Log10(Math.Max(1, metres))));

    internal void Leave(SimulatedBleRadio radio)
    {
        lock (_lock)
        {
            _radios.Remove(radio);
        }
    }

    internal void Deliver(SimulatedBleRadio from, byte[] data, int length) => Deliver(from, from.X, from.Y, data, length);

    private void Deliver(SimulatedBleRadio? from, double x, double y, byte[] data, int length)
    {
        SimulatedBleRadio[] radios;
        Listener[] listeners;
        lock (_lock)
        {
            radios = [.. _radios];
            listeners = [.. _listeners];
        }

        foreach (SimulatedBleRadio to in radios)
        {
            if (to != from && to.IsScanning)
            {
                double metres = Math.Sqrt(Math.Pow(to.X - x, 2) + Math.Pow(to.Y - y, 2));
                to.Hear(data, length, RssiAt(metres));
            }
        }

        if (from is not null)
        {
            foreach (Listener listener in listeners)
            {
                listener(data[..length], length);
            }
        }
    }
}
