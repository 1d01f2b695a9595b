using Anshimi.Gateway.Diagnostics;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

/// <summary>A hello as heard: its fields, its raw bytes (to check the tag once a claim code is typed) and when last.</summary>
public sealed record HelloSighting(HelloMessage Hello, byte[] Raw, DateTimeOffset HeardAt);

/// <summary>
/// Unclaimed devices heard on the provisioning topic. Anyone may send a hello for any id and nothing in one
/// can be verified before the claim code is typed, so a hello never replaces another: a device repeats its
/// hello byte for byte during one power-up (same nonce, same tag), and only such a repeat refreshes a listed
/// hello. A different hello for a listed id (another power-up, or an anonymous client posing as the device)
/// is kept beside it, up to <see cref="ProvisioningOptions.MaxHellosPerDevice"/> and at most one new one per
/// <see cref="ProvisioningOptions.NewHelloInterval"/> per id; the claim code then picks the hello whose tag it
/// verifies. The board holds at most <see cref="ProvisioningOptions.MaxUnclaimed"/> devices. Every drop is
/// counted by reason.
/// </summary>
public sealed class HelloBoard(ProvisioningMetrics metrics, RejectLog rejectLog, IOptions<ProvisioningOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, DeviceHellos> _devices = [];

    /// <summary>Takes one message from <c>anshimi/v1/prov/{id}/hello</c>; never throws on bad input.</summary>
    public void Post(string topic, byte[] payload)
    {
        if (!Topics.IsProvisioning(topic))
        {
            return;
        }

        if (!Topics.TryGetHelloDeviceId(topic, out uint topicDevice))
        {
            // Only hellos are subscribed to: anything else under prov/ is a bad topic from a peer.
            Drop(ProvisioningMetrics.BadTopic, topic);
            return;
        }

        HelloMessage? hello = ProvisioningCodec.ReadHello(payload);
        if (hello is null && ProvisioningCodec.IsVersion1Hello(payload))
        {
            Drop(ProvisioningMetrics.Version1, topic);
            return;
        }

        if (hello is null)
        {
            Drop(ProvisioningMetrics.Malformed, topic);
            return;
        }

        if (hello.DeviceId != topicDevice)
        {
            Drop(ProvisioningMetrics.TopicMismatch, topic + " carried a hello of " + DeviceIdText.Format(hello.DeviceId));
            return;
        }

        string? dropped = Accept(hello, payload, time.GetUtcNow());
        if (dropped is null)
        {
            metrics.Hello();
        }
        else
        {
            Drop(dropped, DeviceIdText.Format(hello.DeviceId));
        }
    }

    /// <summary>Devices heard within the hello lifetime, newest first, each as its longest-listed hello.</summary>
    public IReadOnlyList<HelloSighting> Current()
    {
        DateTimeOffset cutoff = time.GetUtcNow() - options.Value.HelloLifetime;
        lock (_lock)
        {
            return [.. _devices.Values
                .Select(d => d.Sightings.FirstOrDefault(s => s.HeardAt >= cutoff))
                .OfType<HelloSighting>()
                .OrderByDescending(s => s.HeardAt)];
        }
    }

    /// <summary>The device's longest-listed fresh hello, or null.</summary>
    public HelloSighting? Find(uint deviceId) => Candidates(deviceId).FirstOrDefault();

    /// <summary>Every fresh hello for the id, longest-listed first: the claim code tells which one is the device's.</summary>
    public IReadOnlyList<HelloSighting> Candidates(uint deviceId)
    {
        DateTimeOffset cutoff = time.GetUtcNow() - options.Value.HelloLifetime;
        lock (_lock)
        {
            return _devices.TryGetValue(deviceId, out DeviceHellos? device) ? [.. device.Sightings.Where(s => s.HeardAt >= cutoff)] : [];
        }
    }

    /// <summary>Claimed devices leave the board.</summary>
    public void Forget(uint deviceId)
    {
        lock (_lock)
        {
            _devices.Remove(deviceId);
        }
    }

    private string? Accept(HelloMessage hello, byte[] raw, DateTimeOffset now)
    {
        ProvisioningOptions limits = options.Value;
        DateTimeOffset cutoff = now - limits.HelloLifetime;
        lock (_lock)
        {
            if (!_devices.TryGetValue(hello.DeviceId, out DeviceHellos? device))
            {
                if (_devices.Count >= limits.MaxUnclaimed && !EvictExpired(cutoff))
                {
                    // A flood of fresh hellos: keep the devices already listed rather than let a sender push them out.
                    return ProvisioningMetrics.BoardFull;
                }

                device = new DeviceHellos();
                _devices[hello.DeviceId] = device;
            }

            device.Sightings.RemoveAll(s => s.HeardAt < cutoff);
            int same = device.Sightings.FindIndex(s => s.Raw.AsSpan().SequenceEqual(raw));
            if (same >= 0)
            {
                device.Sightings[same] = device.Sightings[same] with { HeardAt = now };
                return null;
            }

            if (device.Sightings.Count >= limits.MaxHellosPerDevice)
            {
                return ProvisioningMetrics.Conflict;
            }

            if (device.Sightings.Count > 0 && now - device.LastNewAt < limits.NewHelloInterval)
            {
                return ProvisioningMetrics.RateLimited;
            }

            device.Sightings.Add(new HelloSighting(hello, raw, now));
            device.LastNewAt = now;
            return null;
        }
    }

    /// <summary>Drops devices with no fresh hello; true when that made room.</summary>
    private bool EvictExpired(DateTimeOffset cutoff)
    {
        foreach (KeyValuePair<uint, DeviceHellos> stale in _devices.Where(d => d.Value.Sightings.All(s => s.HeardAt < cutoff)).ToList())
        {
            _devices.Remove(stale.Key);
        }

        return _devices.Count < options.Value.MaxUnclaimed;
    }

    private void Drop(string reason, string detail)
    {
        metrics.Dropped(reason);
        rejectLog.Report("provisioning_" + reason, detail);
    }

    private sealed class DeviceHellos
    {
        public List<HelloSighting> Sightings { get; } = [];

        public DateTimeOffset LastNewAt { get; set; }
    }
}
