using System.Security.Cryptography;
using System.Text;

namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// DC-09 AES-CBC of the part after the account: random pad characters in front make the plain text
/// a multiple of 16 bytes, the cipher text travels as upper-case hex. The standard fixes the IV at
/// zero; the random pad in the first block is what keeps equal messages from encrypting alike.
/// </summary>
internal static class Dc09Encryption
{
    // Pad characters are printable ASCII except the DC-09 delimiters, so a receiver finds the end
    // of the pad at the first '|' or ']'.
    private static readonly char[] PadAlphabet = Enumerable.Range(0x21, 0x7E - 0x21 + 1)
        .Select(c => (char)c)
        .Where(c => c is not ('|' or '[' or ']'))
        .ToArray();

    public static void ValidateKey(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException("A DC-09 AES key is 16, 24 or 32 bytes (AES-128, -192 or -256).", nameof(key));
        }
    }

    /// <summary>Pad length for <paramref name="textLength"/> characters: 1 to 16, so the total is a multiple of 16.</summary>
    public static int PadLength(int textLength) => 16 - (textLength % 16);

    public static string RandomPad(int length) =>
        new(RandomNumberGenerator.GetItems<char>(PadAlphabet, length));

    public static string Encrypt(string plainText, ReadOnlySpan<byte> key)
    {
        using Aes aes = CreateAes(key);
        byte[] cipher = aes.EncryptCbc(Encoding.Latin1.GetBytes(plainText), new byte[16], PaddingMode.None);
        return Convert.ToHexString(cipher);
    }

    /// <summary>The plain text, or null when the hex or its length is not a valid cipher text.</summary>
    public static string? TryDecrypt(string hex, ReadOnlySpan<byte> key)
    {
        if (hex.Length == 0 || hex.Length % 32 != 0)
        {
            return null;
        }

        byte[] cipher;
        try
        {
            cipher = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }

        using Aes aes = CreateAes(key);
        return Encoding.Latin1.GetString(aes.DecryptCbc(cipher, new byte[16], PaddingMode.None));
    }

    private static Aes CreateAes(ReadOnlySpan<byte> key)
    {
        ValidateKey(key);
        Aes aes = Aes.Create();
        aes.Key = key.ToArray();
        return aes;
    }
}
