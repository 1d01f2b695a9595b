using Anshimi.Firmware.Hal;

namespace Anshimi.Bench.Allocations;

/// <summary>
/// Hardware stand-ins that allocate nothing themselves, so what the benchmark counts is the device logic's own
/// allocation. (The test HAL records histories and schedules closures: right for tests, noise here.)
/// </summary>
internal sealed class BenchClock(DateTime startUtc) : IClock
{
    public long Ms { get; set; }

    public DateTime UtcNow => startUtc.AddMilliseconds(Ms);

    public long MonotonicMs => Ms;
}

internal sealed class BenchPins : IPwmOutput, IDigitalOutput, IAnalogInput, IWatchdog, IStatusLed, IButtonInput, IRandom
{
    public double Value { get; set; } = 0.5;

    public event ButtonChangedHandler? ButtonChanged
    {
        add { }
        remove { }
    }

    public bool IsPressed => false;

    public void SetDuty(double duty)
    {
    }

    public void Write(bool active)
    {
    }

    public double Read() => Value;

    public void Feed()
    {
    }

    public void Show(LedState state)
    {
    }

    public int Next(int maxExclusive) => 0;
}

/// <summary>A radio whose air is a single advertisement handed to the listener on request, from a buffer it owns.</summary>
internal sealed class BenchRadio : IBleRadio
{
    private AdvertisementReceivedHandler? _handler;

    public event AdvertisementReceivedHandler AdvertisementReceived
    {
        add => _handler += value;
        remove => _handler -= value;
    }

    public int Advertised { get; private set; }

    public bool Advertise(byte[] data, int length, int intervalMs)
    {
        Advertised++;
        return true;
    }

    public void StopAdvertising()
    {
    }

    public bool StartScanning() => true;

    public void StopScanning()
    {
    }

    public void Hear(byte[] data, int length, int rssi) => _handler?.Invoke(data, length, rssi);
}

/// <summary>A broker connection that is up and takes every publish at once.</summary>
internal sealed class BenchLink : IMqttLink
{
    public event MqttMessageHandler? MessageReceived
    {
        add { }
        remove { }
    }

    public bool IsConnected => true;

    public int Published { get; private set; }

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        Published++;
        return true;
    }

    public bool Subscribe(string topicFilter, int timeoutMs) => true;
}
