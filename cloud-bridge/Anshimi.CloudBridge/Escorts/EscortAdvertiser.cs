using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>One minute's escort advertisement for the app to broadcast (protocol §10.1, the version-2 escort frame).</summary>
public sealed record EscortAdvertisement(
    string SessionId,
    string AreaCode,
    uint UnixMinute,
    string FrameHex,
    string AdvertisementHex,
    DateTimeOffset ValidFrom,
    DateTimeOffset RefreshAt);

/// <summary>
/// Seals escort frames for the area the walker is in, under that area's key of the signing rotation
/// (<see cref="EscortKeySchedule"/>): the minute and the escort's air id — derived from the session handle per area and
/// epoch, never the handle itself — are sealed; area and epoch are authenticated. Lights accept a frame within 2 minutes
/// of their clock, so the app fetches a fresh one every minute.
/// </summary>
public sealed class EscortAdvertiser
{
    private readonly EscortKeySchedule? _schedule;
    private readonly TimeProvider _time;

    public EscortAdvertiser(IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        EscortOptions o = options.Value;
        _schedule = TryParseKey(o.EscortKey, out byte[]? master) ? new EscortKeySchedule(master!, o.KeyRotationPeriod, o.KeyChangeover) : null;
        _time = time;
    }

    public bool IsConfigured => _schedule is not null;

    /// <summary>The key schedule; null without a master secret.</summary>
    public EscortKeySchedule? Schedule => _schedule;

    /// <summary>True for an empty setting (no key) or 64 hex digits.</summary>
    public static bool IsValidSetting(string? setting) => string.IsNullOrEmpty(setting) || TryParseKey(setting, out _);

    public EscortAdvertisement Sign(uint sessionId, ushort area)
    {
        EscortKeySchedule schedule = _schedule ?? throw new InvalidOperationException("Escorts:EscortKey is not configured.");
        DateTimeOffset now = _time.GetUtcNow();
        uint minute = (uint)(now.ToUnixTimeSeconds() / 60);
        EscortKeySet keys = schedule.SigningKeys(area, minute);
        var codec = new EscortFrame(new PlatformHmacSha256());
        byte[] frame = new byte[EscortFrame.Length];
        codec.Encode(minute, codec.AirId(keys, sessionId), keys, frame, 0);

        // A phone's advertisement carries Flags (protocol §7): the 20-byte frame fits in the 24 left.
        byte[] advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, true, advertisement, 0);
        DateTimeOffset validFrom = DateTimeOffset.FromUnixTimeSeconds(minute * 60L);
        return new EscortAdvertisement(
            DeviceIdText.Format(sessionId), area.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), minute,
            Convert.ToHexStringLower(frame), Convert.ToHexStringLower(advertisement.AsSpan(0, length)), validFrom, validFrom.AddMinutes(1));
    }

    private static bool TryParseKey(string? text, out byte[]? key)
    {
        key = null;
        if (text is null || text.Length != EscortKeySchedule.MasterLength * 2 || !text.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        key = Convert.FromHexString(text);
        return true;
    }
}
