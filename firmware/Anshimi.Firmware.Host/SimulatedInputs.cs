using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>A contact (lid switch, mains sense) set by scripts and the simulator's control API.</summary>
public sealed class SimulatedContact(bool active = false) : IDigitalInput
{
    private volatile bool _active = active;

    public bool IsActive
    {
        get => _active;
        set => _active = value;
    }
}

/// <summary>
/// A serial line: bytes the far end sends wait in order until read; what the device writes is kept.
/// <see cref="Inject"/> is the module speaking (a recognised keyword, or line noise).
/// </summary>
public sealed class SimulatedUartPort : IUartPort
{
    private readonly Lock _gate = new();
    private readonly Queue<byte> _incoming = new();
    private readonly List<byte> _written = [];

    public byte[] Written
    {
        get
        {
            lock (_gate)
            {
                return [.. _written];
            }
        }
    }

    public void Inject(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            foreach (byte b in bytes)
            {
                _incoming.Enqueue(b);
            }
        }
    }

    public int Read(byte[] buffer, int offset, int count)
    {
        lock (_gate)
        {
            int n = 0;
            while (n < count && _incoming.TryDequeue(out byte b))
            {
                buffer[offset + n++] = b;
            }

            return n;
        }
    }

    public void Write(byte[] buffer, int offset, int count)
    {
        lock (_gate)
        {
            _written.AddRange(buffer.AsSpan(offset, count).ToArray());
        }
    }
}
