namespace Anshimi.Gateway.Snapshots;

/// <summary>Doorbell snapshot reassembly at the gateway, bound from configuration section "Snapshots".</summary>
public sealed class SnapshotOptions
{
    public const string SectionName = "Snapshots";

    /// <summary>
    /// Largest image accepted: a doorbell keeps pictures of up to 256 KiB (1,312 chunks, protocol/README.md §10), whose
    /// base64 fits the 384 KiB snapshot envelope; larger manifests are refused as oversize.
    /// </summary>
    public int MaxImageBytes { get; set; } = MaxImageBytesCeiling;

    /// <summary>A snapshot still incomplete this long after its first chunk is given up and its chunks deleted (counted).</summary>
    public TimeSpan IncompleteExpiry { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Stored images are deleted this long after completion once the cloud has them (or at once kept local, for rings).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often expiry and retention run.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Absolute ceiling of <see cref="MaxImageBytes"/>: a doorbell's largest snapshot, whose base64 fits the snapshot envelope.</summary>
    public const int MaxImageBytesCeiling = 256 * 1024;
}
