namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Reads a stored doorbell snapshot by its alarm key. The console's viewing rule (open alarm, own district,
/// every view audited) sits in front of it in <c>Api/SnapshotEndpoints</c>; the reader itself decides nothing.
/// </summary>
public interface ISnapshotReader
{
    Task<SnapshotImage?> FindAsync(string alarmKey, CancellationToken cancellationToken);
}

public sealed record SnapshotImage(string Key, string DeviceId, string ContentType, string Sha256Hex, byte[] Data, DateTimeOffset TakenAt, DateTimeOffset ReceivedAt);
