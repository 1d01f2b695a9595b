using Anshimi.AlarmReceivers.Dc09;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// A DC-09 receiver's answer (ACK, NAK, DUH, a bare NAK) as <see cref="Dc09Sender"/> reads it off the TCP stream: cut
/// into frames by <see cref="Dc09FrameReader"/>, decoded in the clear and under an AES-128 key, so encrypted answers in
/// the corpus decrypt. The input is also decoded as the body of a frame with the right length and CRC, so mutations
/// reach the body's own checks instead of stopping at the CRC.
/// </summary>
public sealed class Dc09AnswerTarget : IFuzzTarget
{
    public static readonly byte[] Key = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");

    public void Run(byte[] input)
    {
        Frames(input);
        Decode(input);
        if (input.Length <= Dc09Message.MaxFrameLength - 10)
        {
            string head = FormattableString.Invariant($"\n{Dc09Crc.Compute(input):X4}0{input.Length:X3}");
            Decode([.. System.Text.Encoding.Latin1.GetBytes(head), .. input, (byte)'\r']);
        }
    }

    private static void Frames(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        var reader = new Dc09FrameReader(stream);

        // A memory stream completes every read at once, so this never blocks.
        while (reader.ReadFrameAsync(CancellationToken.None).GetAwaiter().GetResult() is { } frame)
        {
            Expect(frame.Length <= Dc09Message.MaxFrameLength, "a frame is never longer than DC-09 allows");
            Expect(frame.Length > 0 && (frame[0] == '\n' || ReceiverResponse.IsBareNak(frame)), "a frame starts with LF or is a bare NAK");
            Decode(frame);
        }
    }

    private static void Decode(byte[] input)
    {
        foreach (byte[] key in new[] { Array.Empty<byte>(), Key })
        {
            Dc09DecodeResult decoded = Dc09Message.Decode(input, key);
            Expect((decoded.Error == Dc09DecodeError.None) == (decoded.Message is not null), "Decode gives a message or an error");
            Expect(decoded.Message is not null || decoded.Detail.Length > 0, "a rejected frame says why");

            bool ok = ReceiverResponse.TryParse(input, key, out ReceiverResponse? response, out string error);
            Expect(ok == (response is not null) && ok == (error.Length == 0), "TryParse gives an answer or an error");
            Expect(response is null || response.Sequence is >= 0 and <= 9999, "an answer's sequence has four digits");
        }
    }
}
