using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Health;

/// <summary>
/// Each device's health as the gateway knows it — silent, low battery, tamper, mains lost, lamp fault,
/// battery level — from the device's own events (137/383 tamper, 301 mains, 302/384 battery, new or
/// restore), its heartbeats, supervision and streetlight beacons. Remembers which devices changed so
/// the reporter sends only those upstream. Thread-safe.
/// </summary>
public sealed class DeviceHealthTracker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, DeviceHealth> _health = [];
    private readonly HashSet<uint> _changed = [];

    public static DeviceHealth Healthy { get; } = new(false, false, false, false, false, null);

    public int ChangedCount
    {
        get
        {
            lock (_lock)
            {
                return _changed.Count;
            }
        }
    }

    /// <summary>Replaces the state with what the store held at startup; nothing counts as changed.</summary>
    public void Load(IReadOnlyDictionary<uint, DeviceHealth> stored)
    {
        lock (_lock)
        {
            _health.Clear();
            _changed.Clear();
            foreach (KeyValuePair<uint, DeviceHealth> pair in stored)
            {
                _health[pair.Key] = pair.Value;
            }
        }
    }

    public DeviceHealth Of(uint deviceId)
    {
        lock (_lock)
        {
            return _health.GetValueOrDefault(deviceId, Healthy);
        }
    }

    public bool IsSilent(uint deviceId) => Of(deviceId).Silent;

    /// <summary>Applies a device event: new (qualifier 1) sets a condition, restore (3) clears it; other codes change nothing.</summary>
    public bool ObserveEvent(uint deviceId, ushort code, byte qualifier)
    {
        bool? active = qualifier switch
        {
            ContactIdQualifier.NewEvent => true,
            ContactIdQualifier.Restore => false,
            _ => null,
        };
        if (active is not bool on)
        {
            return false;
        }

        return code switch
        {
            ContactIdCode.Tamper or ContactIdCode.SensorTamper => Update(deviceId, h => h with { Tamper = on }),
            ContactIdCode.AcLoss => Update(deviceId, h => h with { MainsLost = on }),
            ContactIdCode.LowBattery or ContactIdCode.RfLowBattery => Update(deviceId, h => h with { LowBattery = on }),
            _ => false,
        };
    }

    /// <summary>Notes the battery byte of a heartbeat (0–100 %, 0xFF on mains power).</summary>
    public bool ObserveBattery(uint deviceId, byte battery)
    {
        int? percent = battery <= 100 ? battery : null;
        return Update(deviceId, h => h with { BatteryPercent = percent });
    }

    public bool SetSilent(uint deviceId, bool silent) => Update(deviceId, h => h with { Silent = silent });

    public bool SetLampFault(uint deviceId, bool fault) => Update(deviceId, h => h with { LampFault = fault });

    /// <summary>Takes the ids of devices whose health changed since the last call.</summary>
    public IReadOnlyList<uint> TakeChanged()
    {
        lock (_lock)
        {
            uint[] changed = [.. _changed];
            _changed.Clear();
            return changed;
        }
    }

    /// <summary>Puts ids back after a failed report, so the next round retries them.</summary>
    public void MarkChanged(IEnumerable<uint> deviceIds)
    {
        lock (_lock)
        {
            _changed.UnionWith(deviceIds);
        }
    }

    /// <summary>How many devices have each condition, for the devices-by-health gauge.</summary>
    public HealthCounts Count()
    {
        lock (_lock)
        {
            var counts = new HealthCounts();
            foreach (DeviceHealth health in _health.Values)
            {
                counts.Add(health);
            }

            return counts;
        }
    }

    private bool Update(uint deviceId, Func<DeviceHealth, DeviceHealth> change)
    {
        lock (_lock)
        {
            DeviceHealth before = _health.GetValueOrDefault(deviceId, Healthy);
            DeviceHealth after = change(before);
            if (after == before)
            {
                return false;
            }

            _health[deviceId] = after;
            _changed.Add(deviceId);
            return true;
        }
    }
}

/// <summary>Devices per health condition.</summary>
public sealed class HealthCounts
{
    public int Silent { get; private set; }

    public int LowBattery { get; private set; }

    public int Tamper { get; private set; }

    public int MainsLost { get; private set; }

    public int LampFault { get; private set; }

    internal void Add(DeviceHealth health)
    {
        Silent += health.Silent ? 1 : 0;
        LowBattery += health.LowBattery ? 1 : 0;
        Tamper += health.Tamper ? 1 : 0;
        MainsLost += health.MainsLost ? 1 : 0;
        LampFault += health.LampFault ? 1 : 0;
    }
}
