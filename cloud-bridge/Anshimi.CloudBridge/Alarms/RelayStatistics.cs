namespace Anshimi.CloudBridge.Alarms;

/// <summary>Counters of what the relay has seen since start; read by <c>GET /api/status</c>.</summary>
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

    public long AlarmsStored => Interlocked.Read(ref _alarmsStored);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Heartbeats => Interlocked.Read(ref _heartbeats);

    public long AcksRelayed => Interlocked.Read(ref _acksRelayed);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long ReceiptsFailed => Interlocked.Read(ref _receiptsFailed);

    public long Troubles => Interlocked.Read(ref _troubles);

    public long DeviceStatuses => Interlocked.Read(ref _deviceStatuses);

    public void AlarmStored() => Interlocked.Increment(ref _alarmsStored);

    public void DuplicateSeen() => Interlocked.Increment(ref _duplicates);

    public void HeartbeatSeen() => Interlocked.Increment(ref _heartbeats);

    public void AckRelayed() => Interlocked.Increment(ref _acksRelayed);

    public void MalformedDropped() => Interlocked.Increment(ref _malformed);

    public void ReceiptFailed() => Interlocked.Increment(ref _receiptsFailed);

    public void TroubleStored() => Interlocked.Increment(ref _troubles);

    public void DeviceStatusSeen() => Interlocked.Increment(ref _deviceStatuses);
}
