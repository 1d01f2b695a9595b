using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Storage;

/// <summary>
/// A registered device as the pipeline sees it. Counters are changed only by the pipeline's single
/// consumer, after the matching database write.
/// </summary>
public sealed class DeviceEntry
{
    private long _lastSeenTicks;
    private long _walkTestUntilTicks;

    public DeviceEntry(uint id, byte[] key, string profile, SiteInfo site, string? districtCode)
    {
        Id = id;
        Key = key;
        Profile = profile;
        Site = site;
        DistrictCode = districtCode;
    }

    public uint Id { get; }

    /// <summary>The frame key. Secret: never log or print it.</summary>
    public byte[] Key { get; }

    public string Profile { get; }

    public SiteInfo Site { get; }

    public string? DistrictCode { get; }

    /// <summary>Highest alarm counter accepted; the alarm window and heartbeat freshness are measured from it.</summary>
    public uint HighestCounter { get; internal set; }

    /// <summary>Highest heartbeat counter accepted (kept apart so heartbeats, written in batches, never move the alarm window).</summary>
    public uint HeartbeatCounter { get; internal set; }

    public DateTimeOffset? LastSeen
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastSeenTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        internal set => Interlocked.Exchange(ref _lastSeenTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>Until when the installer's walk test runs: alarms accepted before then are marked test.</summary>
    public DateTimeOffset? WalkTestUntil
    {
        get
        {
            long ticks = Interlocked.Read(ref _walkTestUntilTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        internal set => Interlocked.Exchange(ref _walkTestUntilTicks, value?.UtcTicks ?? 0);
    }

    public bool IsInWalkTest(DateTimeOffset now) => WalkTestUntil is DateTimeOffset until && now < until;

    /// <summary>Log-safe: no key.</summary>
    public override string ToString() => DeviceIdText.Format(Id) + " (" + Profile + ")";
}
