using System.Text;
using Anshimi.AlarmReceivers.Dc09;

namespace Anshimi.AlarmReceivers.Tests;

public class Dc09FramingTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(-40, true)]
    [InlineData(-41, false)]
    [InlineData(20, true)]
    [InlineData(21, false)]
    [InlineData(0, true)]
    public void The_receiver_window_runs_from_40_s_behind_to_20_s_ahead(int offsetSeconds, bool acceptable) =>
        Assert.Equal(acceptable, Dc09Timestamp.IsAcceptable(Now.AddSeconds(offsetSeconds), Now));

    [Fact]
    public void Timestamps_are_written_in_UTC() =>
        Assert.Equal("_03:04:05,02-01-2026", Dc09Timestamp.ToField(new DateTimeOffset(2026, 2, 1, 12, 4, 5, TimeSpan.FromHours(9))));

    [Fact]
    public async Task The_frame_reader_skips_garbage_and_resynchronises_on_LF()
    {
        using var stream = new MemoryStream(Encoding.Latin1.GetBytes("noise\r\nA\nB\r\nC\rtrailing"));
        var reader = new Dc09FrameReader(stream);

        Assert.Equal("\nB\r", Encoding.Latin1.GetString((await reader.ReadFrameAsync(CancellationToken.None))!));
        Assert.Equal("\nC\r", Encoding.Latin1.GetString((await reader.ReadFrameAsync(CancellationToken.None))!));
        Assert.Null(await reader.ReadFrameAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_frame_reader_cuts_a_run_longer_than_any_frame()
    {
        using var stream = new MemoryStream([(byte)'\n', .. Enumerable.Repeat((byte)'x', 10_000)]);
        byte[]? frame = await new Dc09FrameReader(stream).ReadFrameAsync(CancellationToken.None);

        Assert.Equal(Dc09Message.MaxFrameLength, frame!.Length);
        Assert.Equal(Dc09DecodeError.Framing, Dc09Message.Decode(frame).Error);
    }

    [Theory]
    [InlineData("\"NAK\"")]
    [InlineData("NAK")]
    [InlineData("\"NAK\"\r\n")]
    [Trait("Category", "HighAvailability")]
    public async Task A_bare_NAK_outside_any_frame_is_handed_out_and_read_as_a_NAK_and_a_frame_behind_it_still_comes(string bare)
    {
        byte[] ack = new Dc09Message { Token = Dc09Message.AckToken, Sequence = 1, Line = "0", Account = "1234" }.Encode();
        using var stream = new MemoryStream([.. Encoding.Latin1.GetBytes(bare), .. ack]);
        var reader = new Dc09FrameReader(stream);

        byte[]? first = await reader.ReadFrameAsync(CancellationToken.None);
        Assert.True(ReceiverResponse.TryParse(first, default, out ReceiverResponse? nak, out _));
        Assert.Equal((ReceiverResponseKind.Nak, true, (DateTimeOffset?)null), (nak!.Kind, nak.Bare, nak.ReceiverTime));
        Assert.Equal(ack, await reader.ReadFrameAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Other_unframed_text_is_still_skipped()
    {
        using var stream = new MemoryStream(Encoding.Latin1.GetBytes("NAKED\"ACK\"0001L0#1234[]"));

        Assert.Null(await new Dc09FrameReader(stream).ReadFrameAsync(CancellationToken.None));
        Assert.False(ReceiverResponse.TryParse("NAKED"u8, default, out _, out _));
    }
}
