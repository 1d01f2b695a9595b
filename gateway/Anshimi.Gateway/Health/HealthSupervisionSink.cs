using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Health;

/// <summary>
/// Supervision's sink in a running gateway: counts and logs each trouble (through
/// <see cref="MetricsSupervisionSink"/>), marks the device silent or heard, and queues the trouble for upstream.
/// </summary>
public sealed class HealthSupervisionSink(MetricsSupervisionSink metrics, DeviceHealthTracker health, TroubleOutbox troubles) : ISupervisionSink
{
    public void Raise(uint deviceId, string profile, ushort code, byte qualifier)
    {
        metrics.Raise(deviceId, profile, code, qualifier);
        health.SetSilent(deviceId, qualifier != ContactIdQualifier.Restore);
        troubles.Enqueue(deviceId, code, qualifier);
    }
}
