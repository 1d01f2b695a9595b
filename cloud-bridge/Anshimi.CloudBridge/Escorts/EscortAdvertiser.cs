using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>One minute's escort advertisement for the app to broadcast (protocol §3, frame type 7).</summary>
public sealed record EscortAdvertisement(
    string SessionId,
    uint UnixMinute,
    string FrameHex,
    string AdvertisementHex,
    DateTimeOffset ValidFrom,
    DateTimeOffset RefreshAt);

/// <summary>
/// Signs escort frames with the city's escort key: device id = session id, counter = Unix minute. Lights
/// accept a frame within 2 minutes of their clock, so the app fetches a fresh one every minute.
/// </summary>
public sealed class EscortAdvertiser
{
    public const int KeyLength = 32;

    private readonly byte[]? _key;
    private readonly TimeProvider _time;

    public EscortAdvertiser(IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _key = TryParseKey(options.Value.EscortKey, out byte[]? key) ? key : null;
        _time = time;
    }

    public bool IsConfigured => _key is not null;

    /// <summary>True for an empty setting (no key) or 64 hex digits.</summary>
    public static bool IsValidSetting(string? setting) => string.IsNullOrEmpty(setting) || TryParseKey(setting, out _);

    public EscortAdvertisement Sign(uint sessionId)
    {
        byte[] key = _key ?? throw new InvalidOperationException("Escorts:EscortKey is not configured.");
        DateTimeOffset now = _time.GetUtcNow();
        uint minute = (uint)(now.ToUnixTimeSeconds() / 60);
        byte[] frame = new FrameCodec(new PlatformHmacSha256()).Encode(FramePayloads.Escort(sessionId, minute), key);

        // A phone's advertisement carries Flags (protocol §7): 22 bytes of frame fit in the 24 left.
        byte[] advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, true, advertisement, 0);
        DateTimeOffset validFrom = DateTimeOffset.FromUnixTimeSeconds(minute * 60L);
        return new EscortAdvertisement(
            DeviceIdText.Format(sessionId), minute, Convert.ToHexStringLower(frame), Convert.ToHexStringLower(advertisement.AsSpan(0, length)),
            validFrom, validFrom.AddMinutes(1));
    }

    private static bool TryParseKey(string? text, out byte[]? key)
    {
        key = null;
        if (text is null || text.Length != KeyLength * 2 || !text.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        key = Convert.FromHexString(text);
        return true;
    }
}
