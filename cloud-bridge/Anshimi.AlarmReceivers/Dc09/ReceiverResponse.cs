namespace Anshimi.AlarmReceivers.Dc09;

public enum ReceiverResponseKind
{
    /// <summary>Message accepted.</summary>
    Ack,

    /// <summary>Message rejected (CRC, format, key, timestamp...); carries the receiver's clock.</summary>
    Nak,

    /// <summary>The receiver does not understand the message: sending it again will not help.</summary>
    Duh,
}

/// <summary>A receiver's answer to one message.</summary>
/// <param name="Bare">A NAK that came as the bare text <c>NAK</c> or <c>"NAK"</c>, without LF, CRC, length or CR,
/// as some receivers answer a message they cannot place (e.g. an account they do not know).</param>
public sealed record ReceiverResponse(ReceiverResponseKind Kind, int Sequence, DateTimeOffset? ReceiverTime, bool Bare = false)
{
    /// <summary>Parses a response frame (or a bare NAK, see <see cref="Dc09FrameReader"/>); never throws. <paramref name="key"/> decrypts a "*ACK".</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, out ReceiverResponse? response, out string error)
    {
        response = null;
        if (IsBareNak(frame))
        {
            response = new ReceiverResponse(ReceiverResponseKind.Nak, 0, null, Bare: true);
            error = "";
            return true;
        }

        Dc09DecodeResult decoded = Dc09Message.Decode(frame, key);
        if (decoded.Message is not { } message)
        {
            error = $"{decoded.Error}: {decoded.Detail}";
            return false;
        }

        ReceiverResponseKind? kind = message.Token switch
        {
            Dc09Message.AckToken => ReceiverResponseKind.Ack,
            Dc09Message.NakToken => ReceiverResponseKind.Nak,
            Dc09Message.DuhToken => ReceiverResponseKind.Duh,
            _ => null,
        };
        if (kind is null)
        {
            error = $"unexpected id token \"{message.Token}\"";
            return false;
        }

        response = new ReceiverResponse(kind.Value, message.Sequence, message.Timestamp);
        error = "";
        return true;
    }

    /// <summary><c>NAK</c> or <c>"NAK"</c>, with nothing around it but spaces, CR and LF.</summary>
    public static bool IsBareNak(ReadOnlySpan<byte> text)
    {
        ReadOnlySpan<byte> trimmed = text.Trim(" \r\n"u8);
        return trimmed.SequenceEqual("NAK"u8) || trimmed.SequenceEqual("\"NAK\""u8);
    }
}
