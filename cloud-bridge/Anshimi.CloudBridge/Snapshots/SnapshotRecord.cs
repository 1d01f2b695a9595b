namespace Anshimi.CloudBridge.Snapshots;

/// <summary>A doorbell snapshot as the cloud stores it, belonging to the alarm <see cref="Key"/>. The image is personal data: show it only under the console's viewing rules.</summary>
public sealed record SnapshotRecord(
    string Key,
    string DeviceId,
    string GatewayId,
    int EventCode,
    int Qualifier,
    int Zone,
    DateTimeOffset TakenAt,
    string ContentType,
    string Sha256Hex,
    byte[] Data,
    DateTimeOffset ReceivedAt);
