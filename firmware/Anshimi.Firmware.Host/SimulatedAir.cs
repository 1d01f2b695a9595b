using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A BLE channel inside one process: every <see cref="SimulatedBellRadio"/> on it hears the advertisements
/// of the others while it scans. An advertisement is heard once when it starts (standing in for its
/// advertising events), delivered at once on the advertiser's thread, so runs on a virtual clock are
/// deterministic. Stands in for the radio this machine lacks; a cross-process air replaces it later.
/// </summary>
public sealed class SimulatedAir
{
    private readonly Lock _gate = new();
    private readonly List<SimulatedBellRadio> _radios = [];
    private readonly List<Listener> _listeners = [];

    /// <summary>Something outside any radio (a test's gateway) hearing every advertisement.</summary>
    public delegate void Listener(byte[] advertisingData, int length);

    public void Listen(Listener listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
        }
    }

    /// <summary>Sends an advertisement from outside any radio, as a gateway's downlink would come.</summary>
    public void Broadcast(byte[] advertisingData, int length) => Deliver(null, advertisingData, length);

    internal void Join(SimulatedBellRadio radio)
    {
        lock (_gate)
        {
            _radios.Add(radio);
        }
    }

    internal void Leave(SimulatedBellRadio radio)
    {
        lock (_gate)
        {
            _radios.Remove(radio);
        }
    }

    internal void Deliver(SimulatedBellRadio? from, byte[] advertisingData, int length)
    {
        SimulatedBellRadio[] radios;
        Listener[] listeners;
        lock (_gate)
        {
            radios = [.. _radios];
            listeners = [.. _listeners];
        }

        foreach (SimulatedBellRadio radio in radios)
        {
            if (radio != from)
            {
                radio.Hear(advertisingData, length);
            }
        }

        if (from is not null)
        {
            foreach (Listener listener in listeners)
            {
                listener(advertisingData, length);
            }
        }
    }
}

/// <summary>A BLE radio on a <see cref="SimulatedAir"/> that remembers what it advertised.</summary>
public sealed class SimulatedBellRadio : IBleAdvertiser, IBridgeableRadio, IDisposable
{
    private readonly SimulatedAir _air;
    private readonly Lock _gate = new();
    private readonly List<byte[]> _advertised = [];

    public SimulatedBellRadio(SimulatedAir air)
    {
        _air = air;
        air.Join(this);
    }

    public event AdvertisementReceivedHandler? AdvertisementReceived;

    public event Action<byte[]?, int>? AdvertisingChanged;

    public bool IsAdvertising { get; private set; }

    public bool IsScanning { get; private set; }

    /// <summary>Signal strength reported for everything heard.</summary>
    public int Rssi { get; set; } = -60;

    /// <summary>Every advertisement started, in order.</summary>
    public IReadOnlyList<byte[]> Advertised
    {
        get
        {
            lock (_gate)
            {
                return [.. _advertised];
            }
        }
    }

    public void StartAdvertising(byte[] advertisingData, int length, int intervalMs)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 31);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalMs);
        byte[] copy = advertisingData.AsSpan(0, length).ToArray();
        lock (_gate)
        {
            _advertised.Add(copy);
        }

        IsAdvertising = true;
        _air.Deliver(this, copy, copy.Length);
        AdvertisingChanged?.Invoke(copy, intervalMs);
    }

    public void StopAdvertising()
    {
        IsAdvertising = false;
        AdvertisingChanged?.Invoke(null, 0);
    }

    public void StartScanning() => IsScanning = true;

    public void StopScanning() => IsScanning = false;

    public void Dispose() => _air.Leave(this);

    public void Receive(byte[] data, int length, int rssi)
    {
        if (IsScanning)
        {
            AdvertisementReceived?.Invoke(data, length, rssi);
        }
    }

    internal void Hear(byte[] advertisingData, int length)
    {
        if (IsScanning)
        {
            AdvertisementReceived?.Invoke(advertisingData, length, Rssi);
        }
    }
}
