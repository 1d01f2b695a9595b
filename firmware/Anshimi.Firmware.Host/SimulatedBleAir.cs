using System.Security.Cryptography;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The air between simulated BLE radios in one process. Every scanning radio hears another radio's advertisement
/// once when it starts and then every interval the advertiser asked for, on the clock, so runs on a virtual clock
/// are deterministic; the RSSI comes from the log-distance path-loss model (no fading, no loss). Radios sit at
/// positions in metres on a plane; move them to walk past a light. A test stands outside any radio:
/// <see cref="Listen"/> hears what the radios put on the air, with the address each was sent from, and
/// <see cref="Broadcast"/> sends as a gateway would.
/// <para>
/// Addresses: like a real device's private address, a radio's address is random-looking and changes — with every new
/// advertisement it starts (a frame that changes must not be linked by the address it came from, protocol/README.md
/// §10), and every <see cref="AddressRotationMs"/> while one advertisement stays on air. Fifteen minutes is the
/// Bluetooth Core Specification's recommended private-address timeout (Vol 3 Part C, Appendix A, TGAP(private_addr_int)),
/// what phones and controllers use by default. Each address has the two top bits 01 of a resolvable private address and
/// a 24-bit hash of its random part under the radio's own key, all derived from the air's seed, the radio's name and
/// the rotation: a run on a virtual clock repeats exactly.
/// </para>
/// </summary>
public sealed class SimulatedBleAir(ISchedulingClock clock, int seed = 0)
{
    /// <summary>The longest a radio keeps one address while its advertisement repeats (15 min).</summary>
    public const long AddressRotationMs = 15L * 60 * 1000;

    private readonly Lock _lock = new();
    private readonly List<SimulatedBleRadio> _radios = [];
    private readonly List<Listener> _listeners = [];

    /// <summary>Hears every advertisement a radio puts on the air, each repeat included, with the 48-bit address it came from.</summary>
    public delegate void Listener(ulong address, byte[] data, int length);

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

    /// <summary>The <paramref name="rotation"/>-th address of the radio named <paramref name="name"/>: prand (top bits 01) ‖ hash.</summary>
    internal ulong AddressFor(string name, long rotation)
    {
        byte[] radioKey = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/" + name));
        byte[] prand = HMACSHA256.HashData(radioKey, BitConverter.GetBytes(rotation))[..3];
        prand[0] = (byte)((prand[0] & 0x3F) | 0x40);
        byte[] hash = HMACSHA256.HashData(radioKey, prand);
        return ((ulong)prand[0] << 40) | ((ulong)prand[1] << 32) | ((ulong)prand[2] << 24) | ((ulong)hash[0] << 16) | ((ulong)hash[1] << 8) | hash[2];
    }

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
                listener(from.Address, data[..length], length);
            }
        }
    }
}
