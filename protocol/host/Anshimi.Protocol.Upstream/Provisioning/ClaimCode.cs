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

    /// <summary>What a label's QR code holds: <c>ANSHIMI:1:{deviceId}:{code}</c>.</summary>
    public static string LabelPayload(string deviceId, string normalized) => "ANSHIMI:1:" + deviceId + ":" + normalized;
}
