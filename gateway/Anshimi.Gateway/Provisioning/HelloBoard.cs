using System.Collections.Concurrent;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

/// <summary>A hello as heard: its fields, its raw bytes (to check the tag once a claim code is typed) and when.</summary>
public sealed record HelloSighting(HelloMessage Hello, byte[] Raw, DateTimeOffset HeardAt);

/// <summary>
/// Unclaimed devices heard on the provisioning topic, newest hello per device. Anyone on the
/// network may send hellos, so the board is bounded and malformed ones are dropped and counted.
/// Nothing here is trusted until a claim code verifies the tag.
/// </summary>
public sealed class HelloBoard(ProvisioningMetrics metrics, RejectLog rejectLog, IOptions<ProvisioningOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<uint, HelloSighting> _sightings = new();

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

        DateTimeOffset now = time.GetUtcNow();
        if (!_sightings.ContainsKey(hello.DeviceId) && _sightings.Count >= options.Value.MaxUnclaimed && !EvictOldest(now))
        {
            Drop(ProvisioningMetrics.BoardFull, DeviceIdText.Format(hello.DeviceId));
            return;
        }

        _sightings[hello.DeviceId] = new HelloSighting(hello, payload, now);
        metrics.Hello();
    }

    /// <summary>Devices heard within the hello lifetime, newest first.</summary>
    public IReadOnlyList<HelloSighting> Current()
    {
        DateTimeOffset cutoff = time.GetUtcNow() - options.Value.HelloLifetime;
        return [.. _sightings.Values.Where(s => s.HeardAt >= cutoff).OrderByDescending(s => s.HeardAt)];
    }

    public HelloSighting? Find(uint deviceId)
    {
        DateTimeOffset cutoff = time.GetUtcNow() - options.Value.HelloLifetime;
        return _sightings.TryGetValue(deviceId, out HelloSighting? sighting) && sighting.HeardAt >= cutoff ? sighting : null;
    }

    /// <summary>Claimed devices leave the board.</summary>
    public void Forget(uint deviceId) => _sightings.TryRemove(deviceId, out _);

    /// <summary>Makes room by dropping expired hellos, else the oldest; false when nothing could go.</summary>
    private bool EvictOldest(DateTimeOffset now)
    {
        DateTimeOffset cutoff = now - options.Value.HelloLifetime;
        foreach (KeyValuePair<uint, HelloSighting> stale in _sightings.Where(s => s.Value.HeardAt < cutoff).ToList())
        {
            _sightings.TryRemove(stale.Key, out _);
        }

        if (_sightings.Count < options.Value.MaxUnclaimed)
        {
            return true;
        }

        // A flood of fresh hellos: keep the ones already listed rather than let a sender push them out.
        return false;
    }

    private void Drop(string reason, string detail)
    {
        metrics.Dropped(reason);
        rejectLog.Report("provisioning_" + reason, detail);
    }
}
