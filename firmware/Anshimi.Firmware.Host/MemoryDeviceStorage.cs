using System.Collections.Concurrent;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>Records in memory; survives a simulated reboot when the same instance is handed to the next bell.</summary>
public sealed class MemoryDeviceStorage : IDeviceStorage
{
    private readonly ConcurrentDictionary<string, byte[]> _records = new(StringComparer.Ordinal);

    /// <summary>When true every write fails, as worn-out flash would.</summary>
    public bool FailWrites { get; set; }

    public int WriteCount { get; private set; }

    public byte[]? Read(string name) => _records.TryGetValue(name, out byte[]? data) ? (byte[])data.Clone() : null;

    public bool Write(string name, byte[] data)
    {
        if (FailWrites)
        {
            return false;
        }

        WriteCount++;
        _records[name] = (byte[])data.Clone();
        return true;
    }
}
