using System.Globalization;

namespace Anshimi.Protocol.Upstream;

/// <summary>The end-to-end idempotency key of an alarm: device id and frame counter, "0000A1B2:5".</summary>
public readonly record struct AlarmKey(uint DeviceId, uint Counter)
{
    public override string ToString() => DeviceIdText.Format(DeviceId) + ":" + Counter.ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out AlarmKey key)
    {
        key = default;
        if (text is null || text.Length < 10 || text[8] != ':')
        {
            return false;
        }

        if (!DeviceIdText.TryParse(text[..8], out uint device) ||
            !uint.TryParse(text.AsSpan(9), NumberStyles.None, CultureInfo.InvariantCulture, out uint counter))
        {
            return false;
        }

        key = new AlarmKey(device, counter);
        return true;
    }
}
