using System.Security.Cryptography;
using System.Text;

namespace Anshimi.Protocol.Upstream.Provisioning;

/// <summary>
/// The claim code on a device's label: 16 characters of Crockford base32 (80 random bits), shown as
/// <c>ABCD-EFGH-JKMN-PQRS</c>. Typed codes are normalized (case, dashes, spaces, I/L→1, O→0); the
/// normalized ASCII is the claim secret both sides derive keys from (protocol/README.md §9). Secret.
/// </summary>
public static class ClaimCode
{
    public const int Length = 16;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>A fresh random code, formatted for a label.</summary>
    public static string NewCode()
    {
        Span<byte> random = stackalloc byte[Length];
        RandomNumberGenerator.Fill(random);
        var code = new StringBuilder(Length);
        foreach (byte b in random)
        {
            code.Append(Alphabet[b & 31]);
        }

        return Format(code.ToString());
    }

    /// <summary>The normalized 16-character code, or null (with the reason) when it is not a claim code.</summary>
    public static string? Normalize(string? typed, out string problem)
    {
        problem = "";
        var code = new StringBuilder(Length);
        foreach (char raw in typed ?? "")
        {
            if (raw is '-' or ' ')
            {
                continue;
            }

            char c = char.ToUpperInvariant(raw) switch
            {
                'I' or 'L' => '1',
                'O' => '0',
                char other => other,
            };
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                problem = "invalid character";
                return null;
            }

            code.Append(c);
        }

        if (code.Length != Length)
        {
            problem = "must be " + Length + " characters";
            return null;
        }

        return code.ToString();
    }

    /// <summary>The claim secret of a normalized code.</summary>
    public static byte[] Secret(string normalized) => Encoding.ASCII.GetBytes(normalized);

    /// <summary>ABCD-EFGH-JKMN-PQRS.</summary>
    public static string Format(string normalized) =>
        string.Join('-', Enumerable.Range(0, normalized.Length / 4).Select(i => normalized.Substring(i * 4, 4)));

    /// <summary>What a label's QR code holds: <c>ANSHIMI:2:{deviceId}:{code}:{public key, 64 hex digits}</c>.</summary>
    public static string LabelPayload(string deviceId, string normalized, byte[] publicKey) =>
        "ANSHIMI:2:" + deviceId + ":" + normalized + ":" + Convert.ToHexString(publicKey);

    /// <summary>
    /// Reads a scanned label: the device id, normalized code and factory public key, or false with the reason.
    /// A version-1 label (no key) is refused: its device must be re-flashed and relabelled (protocol/README.md §9).
    /// </summary>
    public static bool TryReadLabel(string? scanned, out string deviceId, out string normalized, out byte[] publicKey, out string problem)
    {
        deviceId = normalized = "";
        publicKey = [];
        string[] parts = (scanned ?? "").Trim().Split(':');
        if (parts.Length < 2 || parts[0] != "ANSHIMI")
        {
            problem = "is not an Anshimi label";
            return false;
        }

        if (parts[1] != "2" || parts.Length != 5)
        {
            problem = "is a version-" + parts[1] + " label without the device's key; relabel the device";
            return false;
        }

        byte[]? key = PublicKey(parts[4], out problem);
        string? code = Normalize(parts[3], out string codeProblem);
        if (key is null || code is null)
        {
            problem = key is null ? "key " + problem : "code " + codeProblem;
            return false;
        }

        (deviceId, normalized, publicKey) = (parts[2].ToUpperInvariant(), code, key);
        return true;
    }

    /// <summary>A factory public key typed or scanned as 64 hex digits (spaces and dashes ignored), or null.</summary>
    public static byte[]? PublicKey(string? typed, out string problem)
    {
        string hex = new([.. (typed ?? "").Where(c => c is not ('-' or ' '))]);
        problem = "";
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            problem = "must be 64 hex digits";
            return null;
        }

        return Convert.FromHexString(hex);
    }

    /// <summary>The key as printed on a label: 64 hex digits in groups of 8.</summary>
    public static string FormatPublicKey(byte[] publicKey) =>
        string.Join('-', Enumerable.Range(0, 8).Select(i => Convert.ToHexString(publicKey, i * 4, 4)));
}
