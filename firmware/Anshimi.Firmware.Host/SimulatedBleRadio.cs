using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>One radio on a <see cref="SimulatedBleAir"/>. It hands a received advertisement to its handlers in its own buffer, as a radio driver does.</summary>
public sealed class SimulatedBleRadio : IBleRadio, IBridgeableRadio
{
    private readonly SimulatedBleAir _air;
    private readonly Lock _lock = new();
    private byte[]? _advertising;
    private long _generation;
    private volatile bool _scanning;
    private AdvertisementReceivedHandler? _received;

    internal SimulatedBleRadio(SimulatedBleAir air, string name, double x, double y)
    {
        _air = air;
        Name = name;
        X = x;
        Y = y;
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

    public string Name { get; }

    public double X { get; set; }

    public double Y { get; set; }

    public bool Scanning => _scanning;

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

    public int AdvertisementsHeard { get; private set; }

    public event Action<byte[]?, int>? AdvertisingChanged;

    public bool Advertise(byte[] data, int length)
    {
        if (length < 1 || length > 31 || length > data.Length)
        {
            return false;
        }

        byte[] copy = data[..length];
        long generation;
        lock (_lock)
        {
            _advertising = copy;
            generation = ++_generation;
        }

        _air.Deliver(this, copy, copy.Length);
        _air.Clock.Schedule(_air.Clock.MonotonicMs + _air.AdvertisingIntervalMs, () => Repeat(generation));
        AdvertisingChanged?.Invoke(copy, _air.AdvertisingIntervalMs);
        return true;
    }

    public void StopAdvertising()
    {
        lock (_lock)
        {
            _advertising = null;
            _generation++;
        }

        AdvertisingChanged?.Invoke(null, _air.AdvertisingIntervalMs);
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

    internal void Hear(byte[] data, int length, int rssi)
    {
        AdvertisementReceivedHandler? handler;
        lock (_lock)
        {
            handler = _received;
            AdvertisementsHeard++;
        }

        // The receiver gets its own buffer, as from its driver: nothing it does reaches the sender.
        handler?.Invoke(data[..length], length, rssi);
    }

    private void Repeat(long generation)
    {
        byte[]? data;
        lock (_lock)
        {
            data = generation == _generation ? _advertising : null;
        }

        if (data is not null)
        {
            _air.Deliver(this, data, data.Length);
            _air.Clock.Schedule(_air.Clock.MonotonicMs + _air.AdvertisingIntervalMs, () => Repeat(generation));
        }
    }
}
