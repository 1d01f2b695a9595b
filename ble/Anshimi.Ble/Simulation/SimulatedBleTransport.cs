namespace Anshimi.Ble.Simulation;

/// <summary>One participant's radio in a <see cref="SimulatedAirspace"/>. Never fails on its own; closed once disposed.</summary>
public sealed class SimulatedBleTransport : IBleTransport
{
    private readonly SimulatedAirspace _airspace;

    internal SimulatedBleTransport(SimulatedAirspace airspace, BleAddress address, int rssi)
    {
        _airspace = airspace;
        Address = address;
        Rssi = rssi;
    }

    public event EventHandler<BleAdvertisementReport>? AdvertisementReceived;

    public event EventHandler<BleTransportStateChangedEventArgs>? StateChanged;

    public BleAddress Address { get; }

    public int Rssi { get; }

    public BleTransportState State { get; private set; } = BleTransportState.Ready;

    public string StateReason { get; private set; } = "joined the simulated airspace";

    public bool IsScanning { get; private set; }

    /// <summary>The advertisement on air now, or null.</summary>
    public byte[]? AdvertisingData { get; private set; }

    public TimeSpan AdvertisingInterval { get; private set; }

    internal DateTimeOffset? NextTransmission { get; set; }

    public Task StartScanningAsync(BleScanParameters parameters, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        _airspace.Update(() => IsScanning = true);
        return Task.CompletedTask;
    }

    public Task StopScanningAsync(CancellationToken cancellationToken)
    {
        _airspace.Update(() => IsScanning = false);
        return Task.CompletedTask;
    }

    /// <summary>Goes on air at the next pump, then every <paramref name="interval"/>.</summary>
    public Task SetAdvertisingAsync(ReadOnlyMemory<byte> data, TimeSpan interval, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        if (data.Length > Hci.HciCommands.MaxAdvertisingData)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "legacy advertising data is at most 31 bytes");
        }

        if (interval < Hci.HciCommands.MinAdvertisingInterval || interval > Hci.HciCommands.MaxAdvertisingInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "outside the legacy advertising interval range 20 ms – 10.24 s");
        }

        byte[] copy = data.ToArray();
        DateTimeOffset now = _airspace.Time.GetUtcNow();
        _airspace.Update(() =>
        {
            AdvertisingData = copy;
            AdvertisingInterval = interval;
            NextTransmission = now;
        });
        return Task.CompletedTask;
    }

    public Task ClearAdvertisingAsync(CancellationToken cancellationToken)
    {
        _airspace.Update(() =>
        {
            AdvertisingData = null;
            NextTransmission = null;
        });
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (State != BleTransportState.Closed)
        {
            _airspace.Leave(this);
            State = BleTransportState.Closed;
            StateReason = "left the simulated airspace";
            StateChanged?.Invoke(this, new BleTransportStateChangedEventArgs(State, StateReason));
        }

        return ValueTask.CompletedTask;
    }

    internal void Receive(BleAdvertisementReport report)
    {
        if (IsScanning)
        {
            AdvertisementReceived?.Invoke(this, report);
        }
    }

    private void ThrowIfClosed()
    {
        if (State == BleTransportState.Closed)
        {
            throw new BleTransportException("transport " + Address + " has left the airspace");
        }
    }
}
