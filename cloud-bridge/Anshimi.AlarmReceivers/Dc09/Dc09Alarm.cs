using System.Globalization;

namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>Ademco Contact ID event qualifier.</summary>
public enum ContactIdQualifier
{
    NewEvent = 1,
    Restore = 3,
    PreviouslyReported = 6,
}

/// <summary>
/// One alarm for a DC-09 receiver, sent as ADM-CID <c>[#acct|qeee gg zzz]</c>.
/// <paramref name="IdempotencyKey"/> is the end-to-end key (device id and frame counter): sending the
/// same key again reuses its sequence number, so the receiver sees a repetition, not a new event.
/// </summary>
/// <param name="Account">3–16 upper-case hex digits, the account the receiver knows the site by.</param>
/// <param name="EventCode">Contact ID event code 0–999, e.g. 120 panic.</param>
/// <param name="Partition">Group or partition 0–99.</param>
/// <param name="Zone">Zone or user 0–999.</param>
/// <param name="OccurredAt">When the event happened; sent as extended data [H...] when the sender is configured so.</param>
public sealed record Dc09Alarm(
    string Account,
    ContactIdQualifier Qualifier,
    int EventCode,
    int Partition,
    int Zone,
    string IdempotencyKey,
    DateTimeOffset OccurredAt)
{
    /// <summary>DC-09 limits the verification block ([V…]) to 256 characters.</summary>
    public const int MaxVerificationLength = 256;

    /// <summary>Where the event happened (WGS84), sent as extended data <c>[X…][Y…]</c>; null leaves both out.</summary>
    public (double Latitude, double Longitude)? Location { get; init; }

    /// <summary>
    /// Extended data <c>[V…]</c> ("verification": the audio or video that goes with the event), printable ASCII
    /// without brackets or '|', at most <see cref="MaxVerificationLength"/> characters; null or empty leaves it out.
    /// </summary>
    public string? Verification { get; init; }

    /// <summary>The extended data blocks, in the order time of occurrence, longitude, latitude, verification.</summary>
    internal string ExtendedData(bool includeTimeOfOccurrence)
    {
        var blocks = new System.Text.StringBuilder();
        if (includeTimeOfOccurrence)
        {
            blocks.Append("[H").Append(Dc09Timestamp.ToField(OccurredAt)[1..]).Append(']');
        }

        if (Location is { } at)
        {
            blocks.Append(CultureInfo.InvariantCulture, $"[X{at.Longitude:F6}][Y{at.Latitude:F6}]");
        }

        if (!string.IsNullOrEmpty(Verification))
        {
            blocks.Append("[V").Append(Verification).Append(']');
        }

        return blocks.ToString();
    }

    internal string ContactIdData => string.Create(CultureInfo.InvariantCulture,
        $"#{Account}|{(int)Qualifier}{EventCode:D3} {Partition:D2} {Zone:D3}");

    internal void Validate()
    {
        Dc09SenderOptions.ValidateAccount(Account, nameof(Account));
        if (!Enum.IsDefined(Qualifier))
        {
            throw new ArgumentOutOfRangeException(nameof(Qualifier), Qualifier, "Contact ID qualifier is 1, 3 or 6.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(EventCode);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(EventCode, 999);
        ArgumentOutOfRangeException.ThrowIfNegative(Partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Partition, 99);
        ArgumentOutOfRangeException.ThrowIfNegative(Zone);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Zone, 999);
        ArgumentException.ThrowIfNullOrEmpty(IdempotencyKey);
        if (Location is { } at && !(Math.Abs(at.Latitude) <= 90 && Math.Abs(at.Longitude) <= 180))
        {
            throw new ArgumentOutOfRangeException(nameof(Location), at, "latitude must be within ±90 and longitude within ±180.");
        }

        if (Verification is { Length: > 0 } text &&
            (text.Length > MaxVerificationLength || text.Any(c => c is < ' ' or > '~' or '[' or ']' or '|')))
        {
            throw new ArgumentException(
                $"Verification must be at most {MaxVerificationLength} printable ASCII characters without '[', ']' or '|'.", nameof(Verification));
        }
    }
}
