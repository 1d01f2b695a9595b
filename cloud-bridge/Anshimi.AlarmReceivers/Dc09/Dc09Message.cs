using System.Globalization;
using System.Text;

namespace Anshimi.AlarmReceivers.Dc09;

/// <summary>
/// One SIA DC-09 message:
/// <c>&lt;LF&gt;&lt;crc&gt;&lt;0LLL&gt;"id"&lt;seq&gt;R&lt;rcvr&gt;L&lt;pref&gt;#&lt;acct&gt;[data][xdata]_HH:MM:SS,MM-DD-YYYY&lt;CR&gt;</c>.
/// Encrypted, everything after the '[' is AES cipher text in hex and the id token carries a '*'.
/// </summary>
public sealed record Dc09Message
{
    public const string ContactIdToken = "ADM-CID";
    public const string NullToken = "NULL";
    public const string AckToken = "ACK";
    public const string NakToken = "NAK";
    public const string DuhToken = "DUH";

    // Largest body the three hex length digits can state; with LF, CRC, length and CR around it.
    private const int MaxBodyLength = 0xFFF;
    public const int MaxFrameLength = MaxBodyLength + 10;

    private static readonly System.Buffers.SearchValues<char> AccountChars =
        System.Buffers.SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    // A NAK names no account: DC-09 receivers send it as "NAK"0000R0L0A0[]_<receiver time>.
    private const string NakHeader = "R0L0A0";

    /// <summary>Id token without the encryption '*', e.g. <c>ADM-CID</c>.</summary>
    public required string Token { get; init; }

    /// <summary>0001–9999 for events; 0000 for supervision (NULL) messages and NAKs.</summary>
    public int Sequence { get; init; }

    /// <summary>Receiver number (hex digits after 'R'), or null to leave the field out.</summary>
    public string? Receiver { get; init; }

    /// <summary>Account prefix (hex digits after 'L'), or null to leave the field out.</summary>
    public string? Line { get; init; }

    /// <summary>Account number without its '#'.</summary>
    public string Account { get; init; } = "";

    /// <summary>What stands between the brackets, e.g. <c>#1234|1120 01 003</c>; empty for NULL and ACK.</summary>
    public string Data { get; init; } = "";

    /// <summary>Extended data blocks as sent, brackets included, e.g. <c>[H12:00:00,01-31-2026]</c>.</summary>
    public string ExtendedData { get; init; } = "";

    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>True when decoded from an encrypted frame. <see cref="Encode"/> encrypts whenever it is given a key.</summary>
    public bool Encrypted { get; init; }

    /// <summary>The frame on the wire, encrypted with <paramref name="key"/> (16, 24 or 32 bytes) when one is given.</summary>
    public byte[] Encode(ReadOnlySpan<byte> key = default) => Encode(key, Dc09Encryption.RandomPad);

    internal byte[] Encode(ReadOnlySpan<byte> key, Func<int, string> pad)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Sequence, 9999);
        bool encrypt = !key.IsEmpty;

        var body = new StringBuilder();
        body.Append('"').Append(encrypt ? "*" : "").Append(Token).Append('"');
        body.Append(Sequence.ToString("D4", CultureInfo.InvariantCulture));
        if (Token == NakToken)
        {
            body.Append(NakHeader);
        }
        else
        {
            if (Receiver is not null)
            {
                body.Append('R').Append(Receiver);
            }

            if (Line is not null)
            {
                body.Append('L').Append(Line);
            }

            body.Append('#').Append(Account);
        }

        body.Append('[');
        string timestamp = Timestamp is { } t ? Dc09Timestamp.ToField(t) : "";
        if (encrypt)
        {
            if (timestamp.Length == 0)
            {
                throw new InvalidOperationException("An encrypted DC-09 message must carry a timestamp.");
            }

            string content = (Data.Length > 0 ? "|" + Data : "") + "]" + ExtendedData + timestamp;
            body.Append(Dc09Encryption.Encrypt(pad(Dc09Encryption.PadLength(content.Length)) + content, key));
        }
        else
        {
            body.Append(Data).Append(']').Append(ExtendedData).Append(timestamp);
        }

        if (body.Length > MaxBodyLength)
        {
            throw new InvalidOperationException($"DC-09 message body of {body.Length} characters exceeds {MaxBodyLength}.");
        }

        byte[] bodyBytes = Encoding.Latin1.GetBytes(body.ToString());
        string head = FormattableString.Invariant($"\n{Dc09Crc.Compute(bodyBytes):X4}0{bodyBytes.Length:X3}");
        return [.. Encoding.Latin1.GetBytes(head), .. bodyBytes, (byte)'\r'];
    }

    /// <summary>Decodes one frame, LF to CR. Never throws: a bad frame yields its error and why.</summary>
    public static Dc09DecodeResult Decode(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key = default)
    {
        if (frame.Length < 12 || frame.Length > MaxFrameLength || frame[0] != '\n' || frame[^1] != '\r')
        {
            return Fail(Dc09DecodeError.Framing, "not an LF ... CR frame of a possible length");
        }

        string text = Encoding.Latin1.GetString(frame);
        if (!ushort.TryParse(text.AsSpan(1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort crc)
            || !int.TryParse(text.AsSpan(5, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int length))
        {
            return Fail(Dc09DecodeError.Framing, "CRC or length is not hex");
        }

        ReadOnlySpan<byte> body = frame[9..^1];
        if (length != body.Length)
        {
            return Fail(Dc09DecodeError.Length, $"length field says {length}, body has {body.Length}");
        }

        ushort actual = Dc09Crc.Compute(body);
        if (actual != crc)
        {
            return Fail(Dc09DecodeError.Crc, FormattableString.Invariant($"CRC field {crc:X4}, computed {actual:X4}"));
        }

        return DecodeBody(text[9..^1], key);
    }

    private static Dc09DecodeResult DecodeBody(string body, ReadOnlySpan<byte> key)
    {
        int close = body.IndexOf('"', 1);
        if (body[0] != '"' || close < 2)
        {
            return Fail(Dc09DecodeError.Header, "id token is not quoted");
        }

        string token = body[1..close];
        bool encrypted = token[0] == '*';
        token = encrypted ? token[1..] : token;
        int at = close + 1;
        if (token.Length == 0 || body.Length < at + 4 || !IsDigits(body.AsSpan(at, 4)))
        {
            return Fail(Dc09DecodeError.Header, "no four-digit sequence number");
        }

        int sequence = int.Parse(body.AsSpan(at, 4), CultureInfo.InvariantCulture);
        at += 4;
        int bracket = body.IndexOf('[', at);
        if (bracket < 0)
        {
            return Fail(Dc09DecodeError.Header, "no '[' after the header");
        }

        string? receiver = null, line = null, account = "";
        if (token != NakToken && !TryParseRouting(body[at..bracket], out receiver, out line, out account))
        {
            return Fail(Dc09DecodeError.Header, $"bad receiver, line or account in '{body[at..bracket]}'");
        }

        string content = body[(bracket + 1)..];
        if (encrypted)
        {
            if (key.IsEmpty)
            {
                return Fail(Dc09DecodeError.NoKey, "encrypted message but no key");
            }

            string? plain = Dc09Encryption.TryDecrypt(content, key);
            int padEnd = plain?.IndexOfAny(['|', ']']) ?? -1;
            if (plain is null || padEnd < 0)
            {
                return Fail(Dc09DecodeError.Decryption, "cipher text does not decrypt to a DC-09 content");
            }

            // After the pad: '|' starts the data, ']' means there is none.
            content = plain[padEnd] == '|' ? plain[(padEnd + 1)..] : plain[padEnd..];
        }

        int dataEnd = content.IndexOf(']');
        if (dataEnd < 0)
        {
            return Fail(Dc09DecodeError.Content, "data is not closed by ']'");
        }

        string data = content[..dataEnd];
        int rest = dataEnd + 1;
        while (rest < content.Length && content[rest] == '[')
        {
            int end = content.IndexOf(']', rest);
            if (end < 0)
            {
                return Fail(Dc09DecodeError.Content, "extended data is not closed by ']'");
            }

            rest = end + 1;
        }

        string extended = content[(dataEnd + 1)..rest];
        DateTimeOffset? timestamp = null;
        if (rest < content.Length)
        {
            if (content.Length - rest != Dc09Timestamp.FieldLength || content[rest] != '_'
                || !Dc09Timestamp.TryParse(content[(rest + 1)..], out DateTimeOffset parsed))
            {
                return Fail(Dc09DecodeError.Timestamp, $"'{content[rest..]}' is not a timestamp _HH:MM:SS,MM-DD-YYYY");
            }

            timestamp = parsed;
        }

        if (encrypted && timestamp is null)
        {
            return Fail(Dc09DecodeError.Timestamp, "an encrypted message must carry a timestamp");
        }

        var message = new Dc09Message
        {
            Token = token,
            Encrypted = encrypted,
            Sequence = sequence,
            Receiver = receiver,
            Line = line,
            Account = account,
            Data = data,
            ExtendedData = extended,
            Timestamp = timestamp,
        };
        return new Dc09DecodeResult(message, Dc09DecodeError.None, "");
    }

    // R<hex 1-6>, L<hex 1-6> and #<acct>, each optional but in this order.
    private static bool TryParseRouting(string header, out string? receiver, out string? line, out string account)
    {
        receiver = line = null;
        account = "";
        int at = 0;
        if (at < header.Length && header[at] == 'R')
        {
            receiver = TakeHex(header, ref at);
            if (receiver is null)
            {
                return false;
            }
        }

        if (at < header.Length && header[at] == 'L')
        {
            line = TakeHex(header, ref at);
            if (line is null)
            {
                return false;
            }
        }

        if (at < header.Length)
        {
            if (header[at] != '#' || header.Length - at - 1 is < 1 or > 16 || header.AsSpan(at + 1).ContainsAnyExcept(AccountChars))
            {
                return false;
            }

            account = header[(at + 1)..];
        }

        return true;
    }

    private static string? TakeHex(string header, ref int at)
    {
        int start = ++at;
        while (at < header.Length && char.IsAsciiHexDigit(header[at]))
        {
            at++;
        }

        return at - start is >= 1 and <= 6 ? header[start..at] : null;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static Dc09DecodeResult Fail(Dc09DecodeError error, string detail) => new(null, error, detail);
}

public enum Dc09DecodeError
{
    None,

    /// <summary>Not LF ... CR, too short or too long, or CRC/length not hex.</summary>
    Framing,
    Length,
    Crc,

    /// <summary>Id token, sequence, receiver, line or account malformed.</summary>
    Header,
    NoKey,
    Decryption,
    Content,
    Timestamp,
}

/// <summary><see cref="Message"/> when <see cref="Error"/> is <see cref="Dc09DecodeError.None"/>; otherwise why not.</summary>
public readonly record struct Dc09DecodeResult(Dc09Message? Message, Dc09DecodeError Error, string Detail);
