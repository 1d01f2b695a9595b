using Anshimi.CloudBridge.Snapshots;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>The doorbell snapshots the cloud keeps (<see cref="CloudSnapshotStore"/>), read by alarm key for the console.</summary>
public sealed class StoredSnapshotReader(CloudSnapshotStore store) : ISnapshotReader
{
    public async Task<SnapshotImage?> FindAsync(string alarmKey, CancellationToken cancellationToken) =>
        await store.FindAsync(alarmKey, cancellationToken) is { } snapshot
            ? new SnapshotImage(snapshot.Key, snapshot.DeviceId, snapshot.ContentType, snapshot.Sha256Hex, snapshot.Data, snapshot.TakenAt, snapshot.ReceivedAt)
            : null;
}
