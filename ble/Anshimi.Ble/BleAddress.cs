using System.Globalization;

namespace Anshimi.Ble;

/// <summary>A 48-bit Bluetooth device address, written most significant byte first (<c>02:00:00:00:A0:01</c>).</summary>
public readonly record struct BleAddress(ulong Value)
{
    public const int Length = 6;

    /// <summary>From the six bytes as HCI carries them: least significant byte first.</summary>
    public static BleAddress FromLittleEndian(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        for (int i = Length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        return new BleAddress(value);
    }

    /// <summary>From the six bytes in printed order: most significant byte first.</summary>
    public static BleAddress FromBigEndian(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        for (int i = 0; i < Length; i++)
        {
            value = (value << 8) | bytes[i];
        }

        return new BleAddress(value);
    }

    public static bool TryParse(string? text, out BleAddress address)
    {
        address = default;
        string[] parts = (text ?? "").Split(':');
        if (parts.Length != Length)
        {
            return false;
        }

        ulong value = 0;
        foreach (string part in parts)
        {
            if (part.Length != 2 || !byte.TryParse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return false;
            }

            value = (value << 8) | b;
        }

        address = new BleAddress(value);
        return true;
    }

    public void WriteBigEndian(Span<byte> destination)
    {
        for (int i = 0; i < Length; i++)
        {
            destination[i] = (byte)(Value >> (8 * (Length - 1 - i)));
        }
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        WriteBigEndian(bytes);
        return string.Join(':', bytes.ToArray().Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
    }
}
