using System.Text;
using Anshimi.AlarmReceivers.Dc09;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.AlarmReceivers.Tests;

public class Dc09MessageTests
{
    private static readonly byte[] Key128 = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");
    private static readonly byte[] Key256 = Convert.FromHexString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    private static readonly DateTimeOffset Stamp = new(2026, 1, 31, 1, 2, 3, TimeSpan.Zero);

    private static byte[] Wire(string text) => Encoding.Latin1.GetBytes(text);

    private static Dc09Message DecodeOk(string frame, byte[]? key = null)
    {
        Dc09DecodeResult result = Dc09Message.Decode(Wire(frame), key);
        Assert.True(result.Error == Dc09DecodeError.None, $"{result.Error}: {result.Detail}");
        return result.Message!;
    }

    // Published examples: each is decoded, and re-encoded byte for byte.
    [Theory]
    // Frames captured from alarm panels and quoted in the comments of public DC-09 receiver sources
    // (a Go parser listing PROSEC panel frames; a Node.js listener). Which repositories they sit in
    // could not be pinned down, but every CRC and length field checks out.
    [InlineData("\nF68B003B\"ADM-CID\"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024\r")]
    [InlineData("\nB0970029\"NULL\"0000L000#0809[]_21:00:01,02-20-2024\r")]
    [InlineData("\nF92F0043\"ADM-CID\"0020R7896L7896#3456[#3456|1407 00 001]_17:01:14,07-26-2024\r")]
    [InlineData("\nD730002F\"NULL\"0000R7896L7896#3456[]_17:01:26,07-26-2024\r")]
    // fioletoven/dc09, common/src/dc09/message.tests.rs (to_string_test, parse_message_test, parse_nak_test).
    [InlineData("\nF4D20029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r")]
    [InlineData("\n96ED0016\"SIA-DCS\"0001L0#1234[]\r")]
    [InlineData("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r")]
    public void Published_frames_round_trip_byte_for_byte(string frame) =>
        Assert.Equal(Wire(frame), DecodeOk(frame).Encode());

    [Fact]
    public void Decodes_the_fields_of_a_published_ADM_CID_frame()
    {
        Dc09Message message = DecodeOk("\nF92F0043\"ADM-CID\"0020R7896L7896#3456[#3456|1407 00 001]_17:01:14,07-26-2024\r");

        Assert.Equal(Dc09Message.ContactIdToken, message.Token);
        Assert.False(message.Encrypted);
        Assert.Equal(20, message.Sequence);
        Assert.Equal("7896", message.Receiver);
        Assert.Equal("7896", message.Line);
        Assert.Equal("3456", message.Account);
        Assert.Equal("#3456|1407 00 001", message.Data);
        Assert.Equal(new DateTimeOffset(2024, 7, 26, 17, 1, 14, TimeSpan.Zero), message.Timestamp);
    }

    [Fact]
    public void Decodes_the_receiver_time_of_a_published_NAK()
    {
        // fioletoven/dc09, common/src/dc09/message.tests.rs, parse_nak_test.
        Assert.True(ReceiverResponse.TryParse(Wire("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"), default,
            out ReceiverResponse? nak, out _));
        Assert.Equal(new ReceiverResponse(ReceiverResponseKind.Nak, 0, new DateTimeOffset(2025, 9, 24, 16, 20, 1, TimeSpan.Zero)), nak);
    }

    [Fact]
    public void Decrypts_a_published_encrypted_NULL_and_re_encrypts_it_byte_for_byte()
    {
        // eavanvalkenburg/pysiaalarm, tests/test_sia_package_cases.py (case_null), with the key of
        // tests/test_utils.py (KEY = "AAAAAAAAAAAAAAAA" as ASCII bytes). Its plain text is
        // "ppppppppppp]_18:24:52,07-05-2020": eleven pad characters, no data, the timestamp.
        const string Published = "\n76D80055\"*NULL\"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9\r";
        byte[] key = Encoding.ASCII.GetBytes("AAAAAAAAAAAAAAAA");

        Dc09Message message = DecodeOk(Published, key);

        Assert.True(message.Encrypted);
        Assert.Equal(Dc09Message.NullToken, message.Token);
        Assert.Equal("AAAB", message.Account);
        Assert.Equal("", message.Data);
        Assert.Equal(new DateTimeOffset(2020, 7, 5, 18, 24, 52, TimeSpan.Zero), message.Timestamp);
        Assert.Equal(Wire(Published), message.Encode(key, n => new string('p', n)));
    }

    // Own vectors; expected bytes computed independently (Python CRC-16/ARC, OpenSSL AES-CBC with a zero IV).
    [Fact]
    public void Encodes_an_ADM_CID_alarm()
    {
        var message = new Dc09Message
        {
            Token = Dc09Message.ContactIdToken, Sequence = 1, Receiver = "1", Line = "0", Account = "1234",
            Data = "#1234|1120 01 003", Timestamp = Stamp,
        };
        Assert.Equal(Wire("\n845A003D\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003]_01:02:03,01-31-2026\r"), message.Encode());
    }

    [Fact]
    public void Encodes_extended_data_between_data_and_timestamp()
    {
        var message = new Dc09Message
        {
            Token = Dc09Message.ContactIdToken, Sequence = 9999, Line = "0", Account = "5A1B",
            Data = "#5A1B|3302 00 000", ExtendedData = "[H23:59:58,12-31-2025]",
            Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero),
        };
        const string Expected = "\n4C320051\"ADM-CID\"9999L0#5A1B[#5A1B|3302 00 000][H23:59:58,12-31-2025]_00:00:05,01-01-2026\r";
        Assert.Equal(Wire(Expected), message.Encode());
        Assert.Equal(message, DecodeOk(Expected));
    }

    [Theory]
    [InlineData("\nDC750029\"NULL\"0000R1L0#1234[]_01:02:03,01-31-2026\r")]
    [InlineData("\n1EB60014\"ACK\"0001R1L0#1234[]\r")]
    [InlineData("\n1AFA0012\"DUH\"0042L0#1234[]\r")]
    public void Own_vectors_round_trip(string frame) => Assert.Equal(Wire(frame), DecodeOk(frame).Encode());

    [Fact]
    public void Encrypts_ADM_CID_with_AES_256_as_pad_bar_data_bracket_timestamp()
    {
        var message = new Dc09Message
        {
            Token = Dc09Message.ContactIdToken, Sequence = 1, Receiver = "1", Line = "0", Account = "1234",
            Data = "#1234|1120 01 003", Timestamp = Stamp,
        };
        // Plain text: "xxxxxxxxx|#1234|1120 01 003]_01:02:03,01-31-2026" (9 pad + 39 = 48 bytes).
        const string Expected = "\n57AC0078\"*ADM-CID\"0001R1L0#1234[8351C62D0539D8FE4A05BFAA843E2935AA70949D4F655552C4F1314D8A968A45CAA121641708434891C5FAF6119C3BD3\r";

        Assert.Equal(Wire(Expected), message.Encode(Key256, n => new string('x', n)));
        Assert.Equal(message with { Encrypted = true }, DecodeOk(Expected, Key256));
    }

    [Fact]
    public void Decrypts_an_AES_128_ACK()
    {
        // Plain text: 11 pad characters, then "]_01:02:04,01-31-2026".
        Dc09Message ack = DecodeOk("\n0C0F0054\"*ACK\"0001R1L0#1234[ED95FDECA256AC230B1D000E9F5CD5DF2A719CC82DEB297968DD727BE2C6DD5A\r", Key128);
        Assert.Equal(new Dc09Message
        {
            Token = Dc09Message.AckToken, Encrypted = true, Sequence = 1, Receiver = "1", Line = "0", Account = "1234",
            Timestamp = Stamp.AddSeconds(1),
        }, ack);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(32)]
    public void Random_pads_round_trip_for_every_key_size(int keyBytes)
    {
        byte[] key = Key256[..keyBytes];
        var message = new Dc09Message
        {
            Token = Dc09Message.ContactIdToken, Sequence = 77, Line = "0", Account = "ABC", Data = "#ABC|1120 00 001", Timestamp = Stamp,
        };
        byte[] first = message.Encode(key);
        Assert.NotEqual(first, message.Encode(key)); // the random pad makes equal messages differ
        Assert.Equal(message with { Encrypted = true }, DecodeOk(Encoding.Latin1.GetString(first), key));
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 15)]
    [InlineData(15, 1)]
    [InlineData(16, 16)]
    [InlineData(39, 9)]
    public void Pad_fills_the_plain_text_to_a_multiple_of_16(int textLength, int padLength) =>
        Assert.Equal(padLength, Dc09Encryption.PadLength(textLength));

    [Fact]
    public void Pad_never_contains_a_DC09_delimiter()
    {
        string pad = Dc09Encryption.RandomPad(10_000);
        Assert.DoesNotContain('|', pad);
        Assert.DoesNotContain('[', pad);
        Assert.DoesNotContain(']', pad);
    }

    [Theory]
    [InlineData("\n845A003D\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003]_01:02:03,01-31-2026", Dc09DecodeError.Framing)]
    [InlineData("\n845A003C\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003]_01:02:03,01-31-2026\r", Dc09DecodeError.Length)]
    [InlineData("\n845B003D\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003]_01:02:03,01-31-2026\r", Dc09DecodeError.Crc)]
    [InlineData("\n845A003D\"ADM-CID\"0001R1L0#1234[#1234|1120 01 004]_01:02:03,01-31-2026\r", Dc09DecodeError.Crc)]
    [InlineData("\nZZZZ003D\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003]_01:02:03,01-31-2026\r", Dc09DecodeError.Framing)]
    public void Rejects_bad_framing_length_and_CRC(string frame, Dc09DecodeError expected) =>
        Assert.Equal(expected, Dc09Message.Decode(Wire(frame)).Error);

    [Theory]
    [InlineData("\"ADM-CID\"01R1L0#1234[]", Dc09DecodeError.Header)]
    [InlineData("\"ADM-CID\"0001R1L0#1234#1234|1120 01 003", Dc09DecodeError.Header)]
    [InlineData("\"ADM-CID\"0001RL0#1234[]", Dc09DecodeError.Header)]
    [InlineData("\"ADM-CID\"0001R1L0#1234[#1234|1120 01 003", Dc09DecodeError.Content)]
    [InlineData("\"ADM-CID\"0001R1L0#1234[]_25:02:03,01-31-2026", Dc09DecodeError.Timestamp)]
    [InlineData("\"ADM-CID\"0001R1L0#1234[]junk", Dc09DecodeError.Timestamp)]
    [InlineData("\"*ADM-CID\"0001R1L0#1234[00112233445566778899AABBCCDDEEFF", Dc09DecodeError.NoKey)]
    public void Rejects_bad_content_with_a_valid_CRC(string body, Dc09DecodeError expected) =>
        Assert.Equal(expected, Dc09Message.Decode(FrameOf(body)).Error);

    [Fact]
    public void Rejects_cipher_text_under_the_wrong_key()
    {
        byte[] frame = new Dc09Message { Token = Dc09Message.NullToken, Line = "0", Account = "1234", Timestamp = Stamp }
            .Encode(Key128, n => new string('q', n));
        Dc09DecodeResult result = Dc09Message.Decode(frame, Key256[16..]);
        Assert.NotEqual(Dc09DecodeError.None, result.Error);
    }

    [Fact]
    public void Decode_gives_a_typed_outcome_for_arbitrary_bytes() =>
        Prop.ForAll<byte[]>(bytes =>
        {
            AssertTypedOutcome(Dc09Message.Decode(bytes, Key128));
            AssertTypedOutcome(Dc09Message.Decode([(byte)'\n', .. bytes, (byte)'\r']));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));

    [Fact]
    public void Decode_gives_a_typed_outcome_for_well_framed_arbitrary_bodies() =>
        Prop.ForAll(BodyGen.ToArbitrary(), body =>
        {
            byte[] frame = FrameOf(body);
            Dc09DecodeResult result = Dc09Message.Decode(frame, Key128);
            AssertTypedOutcome(result);

            // Length and CRC are right, so a frame of a possible size is judged on its body.
            Assert.True(frame.Length is < 12 or > Dc09Message.MaxFrameLength || result.Error is not (Dc09DecodeError.Framing or Dc09DecodeError.Length or Dc09DecodeError.Crc), result.Detail);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));

    /// <summary>A decoded message and no error, or an error that says why and no message.</summary>
    private static void AssertTypedOutcome(Dc09DecodeResult result)
    {
        Assert.Equal(result.Error == Dc09DecodeError.None, result.Message is not null);
        Assert.True(result.Message is not null || result.Detail.Length > 0, $"{result.Error} without a reason");
    }

    [Fact]
    public void Every_message_round_trips_in_clear_and_encrypted() =>
        Prop.ForAll(MessageGen.ToArbitrary(), Gen.Elements(0, 16, 24, 32).ToArbitrary(), (message, keyBytes) =>
        {
            byte[] key = Key256[..keyBytes];
            Dc09Message decoded = Dc09Message.Decode(message.Encode(key), key).Message!;
            Assert.Equal(message with { Encrypted = keyBytes > 0 }, decoded);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    /// <summary>LF, CRC and length around <paramref name="body"/>, so decoding gets past the frame checks.</summary>
    internal static byte[] FrameOf(string body)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(body);
        return [.. Encoding.Latin1.GetBytes(FormattableString.Invariant($"\n{Dc09Crc.Compute(bytes):X4}{bytes.Length:X4}")), .. bytes, (byte)'\r'];
    }

    /// <summary>Bodies that start like DC-09 and continue with anything.</summary>
    internal static readonly Gen<string> BodyGen =
        from token in Gen.Elements("\"ACK\"", "\"*ACK\"", "\"NAK\"", "\"DUH\"", "\"ADM-CID\"", "\"\"", "\"*", "")
        from tail in ArbMap.Default.GeneratorFor<string>()
        select token + (tail ?? "").Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);

    private static readonly Gen<string> Hex = Gen.Elements("0", "1", "A", "F", "7896", "579BDF");

    private static readonly Gen<Dc09Message> MessageGen =
        from token in Gen.Elements(Dc09Message.ContactIdToken, Dc09Message.NullToken, Dc09Message.AckToken, Dc09Message.DuhToken)
        from sequence in Gen.Choose(0, 9999)
        from receiver in Gen.OneOf(Gen.Constant<string?>(null), Hex.Select(h => (string?)h))
        from line in Gen.OneOf(Gen.Constant<string?>(null), Hex.Select(h => (string?)h))
        from account in Gen.Elements("123", "1234", "ABCDEF0123456789", "5A1B")
        from qualifier in Gen.Elements(1, 3, 6)
        from code in Gen.Choose(0, 999)
        from zone in Gen.Choose(0, 999)
        from seconds in Gen.Choose(0, 2_000_000_000)
        select new Dc09Message
        {
            Token = token,
            Sequence = sequence,
            Receiver = receiver,
            Line = line,
            Account = account,
            Data = token == Dc09Message.ContactIdToken ? $"#{account}|{qualifier}{code:D3} 00 {zone:D3}" : "",
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(seconds),
        };
}
