namespace Anshimi.Ble;

/// <summary>
/// A BLE radio as the gateway and the simulators use it: passive scanning that reports every legacy
/// advertisement heard, and one non-connectable advertisement of our own. Low-level failures surface as
/// <see cref="BleTransportException"/>. Events are raised on the transport's own thread; handlers must be quick.
/// </summary>
public interface IBleTransport : IAsyncDisposable
{
    /// <summary>Raised for every advertisement heard while scanning, duplicates included.</summary>
    event EventHandler<BleAdvertisementReport>? AdvertisementReceived;

    event EventHandler<BleTransportStateChangedEventArgs>? StateChanged;

    BleTransportState State { get; }

    /// <summary>Why the transport is in its <see cref="State"/>, for logs and the health endpoint.</summary>
    string StateReason { get; }

    Task StartScanningAsync(BleScanParameters parameters, CancellationToken cancellationToken);

    Task StopScanningAsync(CancellationToken cancellationToken);

    /// <summary>Advertises <paramref name="data"/> (AD structures, at most 31 bytes) every <paramref name="interval"/> until replaced or cleared.</summary>
    Task SetAdvertisingAsync(ReadOnlyMemory<byte> data, TimeSpan interval, CancellationToken cancellationToken);

    Task ClearAdvertisingAsync(CancellationToken cancellationToken);
}

public enum BleTransportState
{
    /// <summary>Open and idle, scanning or advertising.</summary>
    Ready,

    /// <summary>The radio failed; <see cref="IBleTransport.StateReason"/> says how. Dispose and open a new one.</summary>
    Failed,

    Closed,
}

public sealed class BleTransportStateChangedEventArgs(BleTransportState state, string reason) : EventArgs
{
    public BleTransportState State { get; } = state;

    public string Reason { get; } = reason;
}

/// <summary>One advertisement as a scanner heard it. <see cref="Data"/> is the raw advertising data (AD structures).</summary>
public sealed record BleAdvertisementReport(BleAddress Address, int Rssi, byte[] Data, DateTimeOffset ReceivedAt);

/// <summary>Passive scan timing: the radio listens for <see cref="Window"/> out of every <see cref="Interval"/>.</summary>
public sealed record BleScanParameters(TimeSpan Interval, TimeSpan Window)
{
    public static BleScanParameters Continuous { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
}

/// <summary>A radio failure below the transport (socket, controller, hub), with the operation that failed.</summary>
public sealed class BleTransportException : Exception
{
    public BleTransportException()
    {
    }

    public BleTransportException(string message)
        : base(message)
    {
    }

    public BleTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
