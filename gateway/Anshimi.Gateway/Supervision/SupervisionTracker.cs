using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Supervision;

/// <summary>
/// Watches every device for silence (DESIGN §4 "Silence is an alarm"). Each profile has one
/// interval, so its devices sit in one list ordered by when they were last heard: hearing a device
/// moves its node to the tail, and <see cref="Check"/> only ever looks at list heads. A heartbeat
/// costs O(1) whatever the fleet size, and a check costs O(profiles + devices newly silent).
/// </summary>
public sealed class SupervisionTracker(IOptions<SupervisionOptions> options, ISupervisionSink sink, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, LinkedListNode<Watch>> _devices = [];
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.OrdinalIgnoreCase);
    private int _silent;
    private long _steps;

    /// <summary>Devices whose silence has been raised and not yet restored.</summary>
    public int SilentCount => Volatile.Read(ref _silent);

    public int TrackedCount
    {
        get
        {
            lock (_lock)
            {
                return _devices.Count;
            }
        }
    }

    /// <summary>List nodes moved or examined so far: the measure that shows heartbeats cost O(1).</summary>
    internal long Steps => Interlocked.Read(ref _steps);

    /// <summary>
    /// Starts the clock for devices not heard since startup: nobody is declared silent just because
    /// the gateway restarted, but a device silent since before the restart is caught one interval on.
    /// Devices already reported silent (<paramref name="wasSilent"/>) stay silent, unwatched, until heard,
    /// so their restore is raised and their trouble is not raised twice.
    /// </summary>
    public void Track(IEnumerable<DeviceEntry> devices, Func<uint, bool>? wasSilent = null)
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            foreach (DeviceEntry device in devices)
            {
                if (_devices.ContainsKey(device.Id))
                {
                    continue;
                }

                var node = new LinkedListNode<Watch>(new Watch(device.Id));
                if (wasSilent?.Invoke(device.Id) == true)
                {
                    node.Value.Silent = true;
                    _devices[device.Id] = node;
                    _silent++;
                }
                else
                {
                    Append(node, device.Profile, now);
                }
            }
        }
    }

    /// <summary>Notes an accepted frame from the device; restores it if it had been reported silent.</summary>
    public void Heard(DeviceEntry device)
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            if (_devices.TryGetValue(device.Id, out LinkedListNode<Watch>? node))
            {
                node.List?.Remove(node);
            }
            else
            {
                node = new LinkedListNode<Watch>(new Watch(device.Id));
            }

            Append(node, device.Profile, now);
            Watch watch = node.Value;
            if (watch.Silent)
            {
                watch.Silent = false;
                _silent--;
                sink.Raise(watch.DeviceId, device.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.Restore);
            }
        }
    }

    /// <summary>Raises trouble for every device silent longer than its profile's interval; returns how many.</summary>
    public int Check()
    {
        long now = time.GetTimestamp();
        int raised = 0;
        lock (_lock)
        {
            foreach (Lane lane in _lanes.Values)
            {
                while (lane.Order.First is { } head)
                {
                    _steps++;
                    if (time.GetElapsedTime(head.Value.LastHeard, now) <= lane.Interval)
                    {
                        break;
                    }

                    // Off the list until heard again, so the trouble is raised once.
                    lane.Order.RemoveFirst();
                    head.Value.Silent = true;
                    _silent++;
                    raised++;
                    sink.Raise(head.Value.DeviceId, lane.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
                }
            }
        }

        return raised;
    }

    private void Append(LinkedListNode<Watch> node, string profile, long now)
    {
        if (!_lanes.TryGetValue(profile, out Lane? lane))
        {
            lane = new Lane(profile, options.Value.IntervalOf(profile));
            _lanes.Add(profile, lane);
        }

        node.Value.LastHeard = now;
        _devices[node.Value.DeviceId] = node;
        lane.Order.AddLast(node);
        _steps++;
    }

    private sealed class Watch(uint deviceId)
    {
        public uint DeviceId { get; } = deviceId;

        /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last accepted frame: monotonic, so wall-clock steps cannot fake silence.</summary>
        public long LastHeard { get; set; }

        public bool Silent { get; set; }
    }

    /// <summary>The devices of one profile, oldest-heard first.</summary>
    private sealed class Lane(string profile, TimeSpan interval)
    {
        public string Profile { get; } = profile;

        public TimeSpan Interval { get; } = interval;

        public LinkedList<Watch> Order { get; } = new();
    }
}
