using System.Globalization;

namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>The DC-09 timestamp <c>_HH:MM:SS,MM-DD-YYYY</c>, always UTC.</summary>
public static class Dc09Timestamp
{
    private const string Format = "HH':'mm':'ss','MM'-'dd'-'yyyy";

    /// <summary>Length of the field including its leading underscore.</summary>
    public const int FieldLength = 20;

    /// <summary>A receiver accepts a message stamped at most this far behind its own clock.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(40);

    /// <summary>A receiver accepts a message stamped at most this far ahead of its own clock.</summary>
    public static readonly TimeSpan MaxLead = TimeSpan.FromSeconds(20);

    /// <summary>The field with its leading underscore, e.g. <c>_14:12:04,09-25-2019</c>.</summary>
    public static string ToField(DateTimeOffset time) =>
        "_" + time.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Parses the 19 characters after the underscore.</summary>
    public static bool TryParse(string text, out DateTimeOffset time)
    {
        if (DateTime.TryParseExact(text, Format, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTime parsed))
        {
            time = new DateTimeOffset(parsed, TimeSpan.Zero);
            return true;
        }

        time = default;
        return false;
    }

    /// <summary>The receiver's acceptance window: from 40 s behind to 20 s ahead of its clock.</summary>
    public static bool IsAcceptable(DateTimeOffset stamped, DateTimeOffset receiverNow) =>
        stamped >= receiverNow - MaxAge && stamped <= receiverNow + MaxLead;
}
