using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Host;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Firmware.Tests.Bells;

public sealed class Df2301qParserTests
{
    // The module's report of learned command word id 5, sequence 0, written out by hand from the
    // maker's frame layout: head F4 F5, length 01 00, type A0, command 91, sequence 00, data 05,
    // checksum A0 + 91 + 00 + 05 = 0x0136 little-endian, tail FB.
    private static readonly byte[] Help = [0xF4, 0xF5, 0x01, 0x00, 0xA0, 0x91, 0x00, 0x05, 0x36, 0x01, 0xFB];

    [Fact]
    public void Encoder_writes_the_documented_bytes()
    {
        Assert.Equal(Help, Df2301qFrame.AsrResult(5, 0));

        // Mute request: set-config 96 with data 83 (mute) 01 00 00 00; checksum A1+96+00+83+01 = 0x01BB.
        Assert.Equal(
            new byte[] { 0xF4, 0xF5, 0x05, 0x00, 0xA1, 0x96, 0x00, 0x83, 0x01, 0x00, 0x00, 0x00, 0xBB, 0x01, 0xFB },
            Df2301qFrame.SetMute(true, 0));
    }

    [Fact]
    public void Parses_an_asr_result_byte_by_byte()
    {
        var parser = new Df2301qParser();
        List<int> ids = Feed(parser, Help);
        Assert.Equal([5], ids);
        Assert.Equal(1, parser.FramesAccepted);
    }

    [Fact]
    public void Other_frames_are_accepted_but_are_no_keyword()
    {
        var parser = new Df2301qParser();

        // A wake-up notification (type A3, command 9A, data B1) and an ack (A2) carry no command word.
        var notify = new byte[16];
        int n = Df2301qFrame.Write(Df2301qFrame.TypeNotify, Df2301qFrame.CommandNotifyStatus, 3, [0xB1], 0, 1, notify, 0);
        var ack = new byte[16];
        int m = Df2301qFrame.Write(Df2301qFrame.TypeAck, 0xAA, 4, [], 0, 0, ack, 0);
        Assert.Empty(Feed(parser, [.. notify[..n], .. ack[..m]]));
        Assert.Equal(2, parser.FramesAccepted);
    }

    [Theory]
    [InlineData(8, 0x37)] // checksum off by one
    [InlineData(10, 0xFA)] // wrong tail
    [InlineData(2, 0x09)] // data length 9, over the module's maximum of 8
    public void Broken_frames_are_dropped_and_counted(int index, byte value)
    {
        var parser = new Df2301qParser();
        byte[] broken = (byte[])Help.Clone();
        broken[index] = value;
        Assert.Empty(Feed(parser, broken));
        Assert.Equal(1, parser.FramesRejected);

        // The next good frame still comes through.
        Assert.Equal([5], Feed(parser, Help));
    }

    [Fact]
    public void Resyncs_inside_noise_and_false_headers()
    {
        var parser = new Df2301qParser();

        // A lone F4, a header whose length swallows the real frame, then the real frame.
        byte[] stream = [0x00, 0xF4, 0x13, 0xF4, 0xF5, 0x08, 0x00, 0xA0, .. Help, 0x55, .. Df2301qFrame.AsrResult(6, 1)];
        Assert.Equal([5, 6], Feed(parser, stream));
        Assert.True(parser.FramesRejected >= 1);
        Assert.True(parser.BytesSkipped >= 3);
    }

    [Fact]
    public void Random_bytes_never_throw_and_a_frame_after_them_is_still_found() =>
        Prop.ForAll<byte[]>(noise =>
        {
            var parser = new Df2301qParser();
            _ = Feed(parser, noise ?? []);
            List<int> ids = Feed(parser, Df2301qFrame.AsrResult(7, 9));
            return ids.Contains(7);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));

    [Fact]
    public void Module_mutes_its_replies_at_start_and_hands_out_ids_across_split_reads()
    {
        var port = new SimulatedUartPort();
        var module = new Df2301qVoiceModule(port);
        Assert.Equal(Df2301qFrame.SetMute(true, 0), port.Written);
        Assert.Equal(-1, module.NextCommand());

        port.Inject(Help.AsSpan(0, 5));
        Assert.Equal(-1, module.NextCommand());
        port.Inject([.. Help.AsSpan(5), .. Df2301qFrame.AsrResult(6, 1)]);
        Assert.Equal(5, module.NextCommand());
        Assert.Equal(6, module.NextCommand());
        Assert.Equal(-1, module.NextCommand());
    }

    private static List<int> Feed(Df2301qParser parser, byte[] bytes)
    {
        var ids = new List<int>();
        foreach (byte b in bytes)
        {
            if (parser.Push(b))
            {
                ids.Add(parser.CommandId);
            }
        }

        return ids;
    }
}
