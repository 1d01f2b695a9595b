using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// The binary device frame (protocol/README.md §2, and version 2 of §10) as a gateway receives it over MQTT: structure,
/// then the tag under the key of the vectors' device-a, so seeds from protocol/vectors get past the tag.
/// </summary>
public sealed class DeviceFrameTarget : IFuzzTarget
{
    public static readonly byte[] Key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private readonly FrameCodecV2 _v2 = new(new PlatformHmacSha256());

    public void Run(byte[] input)
    {
        if (FrameCodecV2.IsVersion2(input, 0, input.Length))
        {
            RunVersion2(input);
            return;
        }

        FrameError structure = FrameCodec.Validate(input, 0, input.Length);
        FrameReadResult read = FrameCodec.ReadUnverified(input, 0, input.Length);
        Expect(read.IsOk == (structure == FrameError.None) && read.IsOk == (read.Frame is not null), "ReadUnverified agrees with Validate");
        Expect(read.IsOk || read.Error == structure, "ReadUnverified gives Validate's reject reason");

        // The same bytes inside a larger buffer read the same.
        byte[] padded = [0xA5, .. input, 0x5A];
        Expect(FrameCodec.Validate(padded, 1, input.Length) == structure, "Validate does not depend on the offset");

        FrameReadResult decoded = _codec.Decode(input, 0, input.Length, Key);
        FrameError verified = _codec.Verify(input, 0, input.Length, Key);
        Expect(decoded.IsOk ? verified == FrameError.None : decoded.Error == verified, "Decode and Verify give the same outcome");

        if (read.Frame is { } frame)
        {
            // A well-formed frame re-encodes to the bytes it came from; with a good tag, to all of them.
            byte[] again = _codec.Encode(frame, Key);
            int signed = input.Length - FrameCodec.TagLength;
            Expect(again.Length == input.Length && again.AsSpan(0, signed).SequenceEqual(input.AsSpan(0, signed)), "a read frame re-encodes to its bytes");
            Expect(decoded.IsOk == again.AsSpan().SequenceEqual(input), "the tag is good exactly when re-signing reproduces it");
        }
    }

    /// <summary>Frame version 2 (§10) as a gateway receives it: resolved and opened under device-a's keys.</summary>
    private void RunVersion2(byte[] input)
    {
        FrameError structure = FrameCodecV2.Validate(input, 0, input.Length);
        byte[] padded = [0xA5, .. input, 0x5A];
        Expect(FrameCodecV2.Validate(padded, 1, input.Length) == structure, "version 2: Validate does not depend on the offset");

        var keys = new FrameKeySet(new PlatformHmacSha256(), Key, 0);
        var plaintext = new byte[FrameCodecV2.MaxPlaintextLength];
        FrameError verified = _v2.Verify(input, 0, input.Length, FrameDirectionBit.Uplink, keys, plaintext);
        Expect(structure == FrameError.None || verified == structure, "version 2: Verify gives Validate's reject reason first");
        FrameReadResult decoded = _v2.Decode(input, 0, input.Length, FrameDirectionBit.Uplink, 0x0000A001, new FrameKeySet(new PlatformHmacSha256(), Key, 0));
        Expect(decoded.IsOk ? verified == FrameError.None : decoded.Error == verified, "version 2: Decode and Verify give the same outcome");

        if (decoded.Frame is { } frame)
        {
            // Sealing is deterministic: an authentic frame seals again to exactly its bytes.
            byte[] again = _v2.Encode(frame, new FrameKeySet(new PlatformHmacSha256(), Key, frame.Epoch));
            Expect(again.AsSpan().SequenceEqual(input), "version 2: an opened frame seals again to its bytes");
        }
    }
}
