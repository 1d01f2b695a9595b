namespace Anshimi.Gateway.Pipeline;

/// <summary>
/// Uplinks waiting for the gateway's single consumer, one lane per sending device, served round-robin: a
/// device that floods waits behind its own frames only, so a quiet device's alarm is taken within one round.
/// Each lane holds at most the per-device budget; when the whole queue is full, room is made in the longest
/// lane. What is dropped was never acked, so a genuine device resends it. Thread-safe; one reader.
/// </summary>
public sealed class FairUplinkQueue<T>(int capacity, int perDeviceCapacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Queue<T>> _lanes = [];
    private readonly Queue<uint> _turns = new();
    private int _count;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="item"/> in <paramref name="device"/>'s lane. Returns null when queued, else the
    /// reason it was dropped: <see cref="AlarmPipeline.DeviceBudget"/> when the device's lane is at its budget,
    /// <see cref="AlarmPipeline.QueueFull"/> when the queue is full and the device's lane is already among the longest. <paramref name="displaced"/> is the frame of the longest lane that made room, if any.
    /// </summary>
    public string? TryEnqueue(uint device, T item, out T? displaced)
    {
        displaced = default;
        lock (_lock)
        {
            _lanes.TryGetValue(device, out Queue<T>? lane);
            int mine = lane?.Count ?? 0;
            if (mine >= perDeviceCapacity)
            {
                return AlarmPipeline.DeviceBudget;
            }

            if (_count >= capacity)
            {
                Queue<T> longest = Longest();
                if (longest.Count <= mine + 1)
                {
                    return AlarmPipeline.QueueFull;
                }

                // The oldest of the longest lane goes: the flooder pays for the room, not the newcomer.
                displaced = longest.Dequeue();
                _count--;
            }

            if (lane is null)
            {
                lane = new Queue<T>();
                _lanes[device] = lane;
            }

            if (lane.Count == 0)
            {
                _turns.Enqueue(device);
            }

            lane.Enqueue(item);
            _count++;
            return null;
        }
    }

    /// <summary>The next frame in round-robin order over the devices that have one waiting.</summary>
    public bool TryDequeue(out T item)
    {
        lock (_lock)
        {
            // Displacement only takes from a lane of two or more, so a lane with a turn is never empty.
            if (_turns.TryDequeue(out uint device))
            {
                Queue<T> lane = _lanes[device];
                item = lane.Dequeue();
                _count--;
                if (lane.Count > 0)
                {
                    _turns.Enqueue(device);
                }
                else
                {
                    _lanes.Remove(device);
                }

                return true;
            }

            item = default!;
            return false;
        }
    }

    private Queue<T> Longest()
    {
        Queue<T>? longest = null;
        foreach (Queue<T> lane in _lanes.Values)
        {
            if (longest is null || lane.Count > longest.Count)
            {
                longest = lane;
            }
        }

        return longest!;
    }
}
