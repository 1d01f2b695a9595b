using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// What the relay has seen since start: read by <c>GET /api/status</c>, and the same numbers on <c>/metrics</c> as
/// <c>anshimi_cloud_bridge_envelopes_received_total{outcome}</c> and <c>anshimi_cloud_bridge_receipts_failed_total</c>.
/// </summary>
public sealed class RelayStatistics
{
    private long _alarmsStored;
    private long _duplicates;
    private long _heartbeats;
    private long _acksRelayed;
    private long _malformed;
    private long _receiptsFailed;
    private long _troubles;
    private long _deviceStatuses;
    private long _failed;

    public RelayStatistics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter meter = meterFactory.Create(CloudBridgeTelemetry.MeterName);
        meter.CreateObservableCounter("anshimi.cloud_bridge.envelopes.received", ObserveEnvelopes, "{envelope}",
            "Envelopes from gateways, by outcome: alarm_stored, trouble_stored, duplicate (re-sent, answered again), heartbeat, ack_relayed, device_status, dropped (malformed or not the gateway's to send), failed (not stored, as the store could not commit; not receipted, so the gateway re-sends).");
        meter.CreateObservableCounter("anshimi.cloud_bridge.receipts.failed", () => ReceiptsFailed, "{receipt}",
            "Receipts the broker did not take in time; the gateway re-sends and is answered then.");
    }

    public long AlarmsStored => Interlocked.Read(ref _alarmsStored);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Heartbeats => Interlocked.Read(ref _heartbeats);

    public long AcksRelayed => Interlocked.Read(ref _acksRelayed);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long ReceiptsFailed => Interlocked.Read(ref _receiptsFailed);

    public long Troubles => Interlocked.Read(ref _troubles);

    public long DeviceStatuses => Interlocked.Read(ref _deviceStatuses);

    /// <summary>Envelopes whose handling failed (a store that could not commit): none of them was receipted.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public void AlarmStored() => Interlocked.Increment(ref _alarmsStored);

    public void DuplicateSeen() => Interlocked.Increment(ref _duplicates);

    public void HeartbeatSeen() => Interlocked.Increment(ref _heartbeats);

    public void AckRelayed() => Interlocked.Increment(ref _acksRelayed);

    public void MalformedDropped() => Interlocked.Increment(ref _malformed);

    public void ReceiptFailed() => Interlocked.Increment(ref _receiptsFailed);

    public void TroubleStored() => Interlocked.Increment(ref _troubles);

    public void DeviceStatusSeen() => Interlocked.Increment(ref _deviceStatuses);

    public void HandlingFailed(int envelopes) => Interlocked.Add(ref _failed, envelopes);

    private IEnumerable<Measurement<long>> ObserveEnvelopes() =>
    [
        Outcome(AlarmsStored, "alarm_stored"),
        Outcome(Troubles, "trouble_stored"),
        Outcome(Duplicates, "duplicate"),
        Outcome(Heartbeats, "heartbeat"),
        Outcome(AcksRelayed, "ack_relayed"),
        Outcome(DeviceStatuses, "device_status"),
        Outcome(Malformed, "dropped"),
        Outcome(Failed, "failed"),
    ];

    private static Measurement<long> Outcome(long value, string outcome) => new(value, new KeyValuePair<string, object?>("outcome", outcome));
}
