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
public sealed record ReceiverResponse(ReceiverResponseKind Kind, int Sequence, DateTimeOffset? ReceiverTime)
{
    /// <summary>Parses a response frame; never throws. <paramref name="key"/> decrypts a "*ACK".</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> key, out ReceiverResponse? response, out string error)
    {
        response = null;
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
}
