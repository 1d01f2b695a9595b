using Anshimi.Ble;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>
/// Shares the gateway's one advertising slot among its downlink frames (light commands, acks to BLE-only bells):
/// each <see cref="StepAsync"/> puts the next frame in turn on air, so every pending frame is broadcast for one
/// <see cref="BleOptions.Dwell"/> per round. Background frames (escort key parts) go on air only in steps where no other
/// frame is waiting, so they never delay an ack or a light command. Thread-safe.
/// </summary>
public sealed class BleBroadcaster(IOptions<BleOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly List<string> _order = [];
    private readonly List<string> _background = [];
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private int _next;
    private int _nextBackground;
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
    public void Put(string key, byte[] advertisingData, DateTimeOffset until, uint tag = 0) => Put(key, advertisingData, until, tag, background: false);

    /// <summary>Puts (or replaces) a background advertisement: on air only when no other one is waiting.</summary>
    public void PutBackground(string key, byte[] advertisingData, DateTimeOffset until) => Put(key, advertisingData, until, 0, background: true);

    /// <summary>Whether the advertisement under <paramref name="key"/> has been on air since it was put.</summary>
    public bool HasAired(string key)
    {
        lock (_lock)
        {
            return _slots.TryGetValue(key, out Slot? slot) && slot.Aired;
        }
    }

    public void Remove(string key)
    {
        lock (_lock)
        {
            if (_slots.Remove(key, out Slot? slot))
            {
                List<string> order = slot.Background ? _background : _order;
                int index = order.IndexOf(key);
                order.RemoveAt(index);
                if (slot.Background && index < _nextBackground)
                {
                    _nextBackground--;
                }
                else if (!slot.Background && index < _next)
                {
                    _next--;
                }
            }
        }
    }

    private void Put(string key, byte[] advertisingData, DateTimeOffset until, uint tag, bool background)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(key, out Slot? old) && old.Background != background)
            {
                Remove(key);
            }

            if (!_slots.ContainsKey(key))
            {
                (background ? _background : _order).Add(key);
            }

            _slots[key] = new Slot(advertisingData, until, tag, background);
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
            foreach (string expired in _order.Concat(_background).Where(key => _slots[key].Until <= now).ToList())
            {
                Remove(expired);
            }

            wasOnAir = _onAir is not null;
            Slot? slot = null;
            if (_order.Count > 0)
            {
                _next %= _order.Count;
                slot = _slots[_order[_next]];
                _next++;
            }
            else if (_background.Count > 0)
            {
                _nextBackground %= _background.Count;
                slot = _slots[_background[_nextBackground]];
                _nextBackground++;
            }

            data = slot?.Data;
            if (slot is not null)
            {
                slot.Aired = true;
            }
            else
            {
                // Only an otherwise idle slot carries the firmware carousel: commands, acks and key parts never wait for it.
                data = Idle?.Invoke();
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

    private sealed record Slot(byte[] Data, DateTimeOffset Until, uint Tag, bool Background)
    {
        public bool Aired { get; set; }
    }
}
