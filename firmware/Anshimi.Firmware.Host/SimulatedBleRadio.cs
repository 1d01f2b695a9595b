using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// One radio on a <see cref="SimulatedBleAir"/>. It repeats its advertisement every interval it was asked for until
/// replaced or stopped, and hands a received advertisement to its handlers in its own buffer, as a radio driver does.
/// Its address changes with every advertisement it starts and every <see cref="SimulatedBleAir.AddressRotationMs"/> on air.
/// </summary>
public sealed class SimulatedBleRadio : IBleRadio, IBridgeableRadio, IDisposable
{
    private readonly SimulatedBleAir _air;
    private readonly Lock _lock = new();
    private byte[]? _advertising;
    private long _generation;
    private int _advertisementsStarted;
    private long _rotation;
    private long _addressSinceMs;
    private volatile bool _scanning;
    private AdvertisementReceivedHandler? _received;

    internal SimulatedBleRadio(SimulatedBleAir air, string name, double x, double y)
    {
        _air = air;
        Name = name;
        X = x;
        Y = y;
        Address = air.AddressFor(name, 0);
        _addressSinceMs = air.Clock.MonotonicMs;
    }

    public event AdvertisementReceivedHandler AdvertisementReceived
    {
        add
        {
            lock (_lock)
            {
                _received += value;
            }
        }

        remove
        {
            lock (_lock)
            {
                _received -= value;
            }
        }
    }

    public event Action<byte[]?, int>? AdvertisingChanged;

    public string Name { get; }

    /// <summary>The 48-bit private address the radio advertises from now.</summary>
    public ulong Address { get; private set; }

    public double X { get; set; }

    public double Y { get; set; }

    public bool IsScanning => _scanning;

    /// <summary>A copy of what the radio advertises now, or null.</summary>
    public byte[]? Advertising
    {
        get
        {
            lock (_lock)
            {
                return _advertising is null ? null : (byte[])_advertising.Clone();
            }
        }
    }

    /// <summary>Advertisements started since the radio was made (a replaced one counts, its repeats do not).</summary>
    public int AdvertisementsStarted
    {
        get
        {
            lock (_lock)
            {
                return _advertisementsStarted;
            }
        }
    }

    public bool Advertise(byte[] data, int length, int intervalMs)
    {
        if (length < 1 || length > 31 || length > data.Length || intervalMs <= 0)
        {
            return false;
        }

        byte[] copy = data[..length];
        long generation;
        lock (_lock)
        {
            _advertising = copy;
            generation = ++_generation;
            _advertisementsStarted++;
            RotateAddress();
        }

        _air.Deliver(this, copy, copy.Length);
        _air.Clock.Schedule(_air.Clock.MonotonicMs + intervalMs, () => Repeat(generation, intervalMs));
        AdvertisingChanged?.Invoke(copy, intervalMs);
        return true;
    }

    public void StopAdvertising()
    {
        lock (_lock)
        {
            _advertising = null;
            _generation++;
        }

        AdvertisingChanged?.Invoke(null, 0);
    }

    public bool StartScanning()
    {
        _scanning = true;
        return true;
    }

    public void StopScanning() => _scanning = false;

    /// <summary>What a chip reset does to the radio: it stops, and the firmware that listened is gone.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _received = null;
        }

        StopAdvertising();
        StopScanning();
    }

    public void Receive(byte[] data, int length, int rssi)
    {
        if (_scanning)
        {
            Hear(data, length, rssi);
        }
    }

    /// <summary>Takes the radio off the air: nothing it advertised is repeated, and it hears nothing more.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _advertising = null;
            _generation++;
        }

        _scanning = false;
        _air.Leave(this);
    }

    internal void Hear(byte[] data, int length, int rssi)
    {
        AdvertisementReceivedHandler? handler;
        lock (_lock)
        {
            handler = _received;
        }

        // The receiver gets its own buffer, as from its driver: nothing it does reaches the sender.
        handler?.Invoke(data[..length], length, rssi);
    }

    private void RotateAddress()
    {
        Address = _air.AddressFor(Name, ++_rotation);
        _addressSinceMs = _air.Clock.MonotonicMs;
    }

    private void Repeat(long generation, int intervalMs)
    {
        byte[]? data;
        bool rotated = false;
        lock (_lock)
        {
            data = generation == _generation ? _advertising : null;
            if (data is not null && _air.Clock.MonotonicMs - _addressSinceMs >= SimulatedBleAir.AddressRotationMs)
            {
                RotateAddress();
                rotated = true;
            }
        }

        if (rotated)
        {
            AdvertisingChanged?.Invoke(data, intervalMs);
        }

        if (data is not null)
        {
            _air.Deliver(this, data, data.Length);
            _air.Clock.Schedule(_air.Clock.MonotonicMs + intervalMs, () => Repeat(generation, intervalMs));
        }
    }
}
