namespace Anshimi.Firmware.Host;

/// <summary>
/// A simulated radio that a link can extend onto another air (another process's airspace): it says when its own
/// advertisement changes, and hears what arrives from beyond.
/// </summary>
public interface IBridgeableRadio
{
    /// <summary>
    /// Raised after the radio starts advertising new data (a copy, repeated every <c>intervalMs</c>) or stops (null),
    /// and when it changes the address of what it advertises, on the caller's thread.
    /// </summary>
    event Action<byte[]?, int>? AdvertisingChanged;

    /// <summary>The radio's private address now: it changes with each advertisement and while one stays on air long.</summary>
    ulong Address { get; }

    /// <summary>An advertisement from beyond this radio's air; heard only while the radio scans.</summary>
    void Receive(byte[] data, int length, int rssi);
}
