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
    private volatile FrameKeySet? _keys;
    private FrameKeySet? _downlinkKeys;

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

    /// <summary>The frame version the device last sent (protocol/README.md §10): its downlinks are sealed in the same one.</summary>
    public byte FrameVersion { get; internal set; } = FrameCodec.CurrentVersion;

    /// <summary>The key epoch of the device's version-2 uplinks the gateway has moved to; older epochs are stale_epoch.</summary>
    public byte UplinkEpoch { get; internal set; }

    /// <summary>The key epoch the gateway asks the device to move to (0: none; <see cref="Pipeline.DeviceRekey"/>).</summary>
    public int RekeyEpoch { get; internal set; }

    /// <summary>The version-2 id-resolving key of the device's uplinks, derived once: one HMAC per heard BLE frame tries it.</summary>
    public byte[] UplinkIdKey => KeysAt(UplinkEpoch).IdKey(FrameDirectionBit.Uplink);

    /// <summary>The device's version-2 keys of <paramref name="epoch"/>. The last set is kept; another epoch derives a new one.</summary>
    public FrameKeySet KeysAt(byte epoch)
    {
        FrameKeySet? kept = _keys;
        if (kept is not null && kept.Epoch == epoch)
        {
            return kept;
        }

        var derived = new FrameKeySet(new PlatformHmacSha256(), Key, epoch);
        _keys = derived;
        return derived;
    }

    /// <summary>
    /// The device's version-2 keys for downlinks. The gateway's downlink epoch is 0: its downlink counters start at most at
    /// the Unix second (a restore, §2), so they reach the re-key limit of §10 in 2106.
    /// </summary>
    public FrameKeySet DownlinkKeys => _downlinkKeys ??= new FrameKeySet(new PlatformHmacSha256(), Key, 0);

    /// <summary>Log-safe: no key.</summary>
    public override string ToString() => DeviceIdText.Format(Id) + " (" + Profile + ")";
}
