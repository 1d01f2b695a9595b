using Anshimi.Ble;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>
/// Shares the gateway's one advertising slot among its downlink frames (light commands, acks to BLE-only bells):
/// each <see cref="StepAsync"/> puts the next frame in turn on air, so every pending frame is broadcast for one
/// <see cref="BleOptions.Dwell"/> per round. Thread-safe.
/// </summary>
public sealed class BleBroadcaster(IOptions<BleOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private int _next;
    private byte[]? _onAir;

    /// <summary>What goes on air when no downlink frame is waiting (the streetlights' firmware carousel), or null.</summary>
    public Func<byte[]?>? Idle { get; set; }

    /// <summary>Advertising data on air after the last step, or null.</summary>
    public byte[]? OnAir
    {
        get
        {
            lock (_lock)
            {
                return _onAir;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>Puts (or replaces) the advertisement under <paramref name="key"/> into the rotation until <paramref name="until"/>.</summary>
    public void Put(string key, byte[] advertisingData, DateTimeOffset until, uint tag = 0)
    {
        lock (_lock)
        {
            if (!_slots.ContainsKey(key))
            {
                _order.Add(key);
            }

            _slots[key] = new Slot(advertisingData, until, tag);
        }
    }

    public void Remove(string key)
    {
        lock (_lock)
        {
            if (_slots.Remove(key))
            {
                int index = _order.IndexOf(key);
                _order.RemoveAt(index);
                if (index < _next)
                {
                    _next--;
                }
            }
        }
    }

    /// <summary>The tag given with the advertisement under <paramref name="key"/> while it is in the rotation.</summary>
    public bool TryGetTag(string key, out uint tag)
    {
        lock (_lock)
        {
            bool found = _slots.TryGetValue(key, out Slot? slot) && slot.Until > time.GetUtcNow();
            tag = found ? slot!.Tag : 0;
            return found;
        }
    }

    /// <summary>Drops expired advertisements and puts the next one on air (or clears the air when none is left).</summary>
    public async Task StepAsync(IBleTransport transport, CancellationToken cancellationToken)
    {
        byte[]? data;
        bool wasOnAir;
        lock (_lock)
        {
            DateTimeOffset now = time.GetUtcNow();
            foreach (string expired in _order.Where(key => _slots[key].Until <= now).ToList())
            {
                Remove(expired);
            }

            wasOnAir = _onAir is not null;
            if (_order.Count == 0)
            {
                // Only an otherwise idle slot carries the firmware carousel: commands and acks never wait for it.
                data = Idle?.Invoke();
            }
            else
            {
                _next %= _order.Count;
                data = _slots[_order[_next]].Data;
                _next++;
            }

            _onAir = data;
        }

        if (data is not null)
        {
            await transport.SetAdvertisingAsync(data, options.Value.AdvertisingInterval, cancellationToken);
        }
        else if (wasOnAir)
        {
            await transport.ClearAdvertisingAsync(cancellationToken);
        }
    }

    private sealed record Slot(byte[] Data, DateTimeOffset Until, uint Tag);
}
