namespace Anshimi.Gateway.Snapshots;

/// <summary>Doorbell snapshot reassembly at the gateway, bound from configuration section "Snapshots".</summary>
public sealed class SnapshotOptions
{
    public const string SectionName = "Snapshots";

    /// <summary>
    /// Largest image accepted. Its base64 must fit the 256 KiB snapshot envelope with room for the other
    /// fields, so at most 190 KiB; larger manifests are refused as oversize.
    /// </summary>
    public int MaxImageBytes { get; set; } = 180 * 1024;

    /// <summary>A snapshot still incomplete this long after its first chunk is given up and its chunks deleted (counted).</summary>
    public TimeSpan IncompleteExpiry { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Stored images are deleted this long after completion once the cloud has them (or at once kept local, for rings).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often expiry and retention run.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Absolute ceiling of <see cref="MaxImageBytes"/>: what base64 in a 256 KiB envelope leaves room for.</summary>
    public const int MaxImageBytesCeiling = 190 * 1024;
}
