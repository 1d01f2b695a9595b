using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Protocol.Tests;

public sealed class BleAdvertisementTests
{
    [Fact]
    public void An_alarm_advertisement_is_flags_then_manufacturer_data_byte_for_byte()
    {
        byte[] frame = Convert.FromHexString(TestVectors.Get("alarm-panic").GetProperty("hex").GetString()!);
        var buffer = new byte[31];

        int length = BleAdvertisement.Write(frame, 0, frame.Length, true, buffer, 0);

        Assert.Equal(29, length);
        Assert.Equal(Convert.FromHexString("020106" + "19FFFFFF") .Concat(frame).ToArray(), buffer.Take(length).ToArray());
        Assert.True(BleAdvertisement.TryFindFrame(buffer, 0, length, out int offset, out int count));
        Assert.Equal(frame, buffer.Skip(offset).Take(count).ToArray());
    }

    [Fact]
    public void Other_companies_and_other_structures_are_skipped()
    {
        // Complete local name "AB", then another company's data, then ours.
        byte[] data = Convert.FromHexString("03094142" + "04FF4C0001" + "05FFFFFF0A0B");

        Assert.True(BleAdvertisement.TryFindFrame(data, 0, data.Length, out int offset, out int count));
        Assert.Equal(new byte[] { 0x0A, 0x0B }, data.Skip(offset).Take(count).ToArray());
        Assert.False(BleAdvertisement.TryFindFrame(data, 0, 9, out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("1EFFFFFF01")]
    [InlineData("03FFFFFF")]
    [InlineData("020106")]
    public void Truncated_or_empty_structures_find_no_frame(string hex)
    {
        byte[] data = Convert.FromHexString(hex);
        Assert.False(BleAdvertisement.TryFindFrame(data, 0, data.Length, out _, out _));
    }

    [Fact]
    public void A_frame_is_found_with_or_without_flags()
    {
        byte[] frame = Convert.FromHexString(TestVectors.Get("ack-received").GetProperty("hex").GetString()!);
        var flagless = new byte[31];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, false, flagless, 0);

        Assert.Equal(31, length);
        Assert.Equal(-1, BleAdvertisement.Write(frame, 0, frame.Length, true, new byte[31], 0));
        Assert.True(BleAdvertisement.TryFindFrame(flagless, 0, length, out int offset, out int count));
        Assert.Equal(frame, flagless.Skip(offset).Take(count).ToArray());
    }

    [Fact]
    public void Only_the_first_structure_with_our_company_id_is_read()
    {
        // Flags, then two of ours: the second is never read, even when the first carries no frame.
        byte[] two = Convert.FromHexString("020106" + "05FFFFFF0A0B" + "05FFFFFF0C0D");
        Assert.True(BleAdvertisement.TryFindFrame(two, 0, two.Length, out int offset, out int count));
        Assert.Equal(new byte[] { 0x0A, 0x0B }, two.Skip(offset).Take(count).ToArray());

        byte[] emptyFirst = Convert.FromHexString("03FFFFFF" + "05FFFFFF0C0D");
        Assert.False(BleAdvertisement.TryFindFrame(emptyFirst, 0, emptyFirst.Length, out _, out _));
    }

    [Fact]
    public void A_zero_length_byte_ends_the_data_and_what_follows_is_padding()
    {
        byte[] frame = Convert.FromHexString(TestVectors.Get("alarm-panic").GetProperty("hex").GetString()!);
        var padded = new byte[31];
        BleAdvertisement.Write(frame, 0, frame.Length, true, padded, 0);

        // 29 bytes of ours and two zero bytes of padding, as a controller may report them: the frame is found.
        Assert.True(BleAdvertisement.TryFindFrame(padded, 0, padded.Length, out int offset, out int count));
        Assert.Equal(frame, padded.Skip(offset).Take(count).ToArray());

        // Ours after the terminator is not significant data: not read.
        byte[] afterEnd = Convert.FromHexString("020106" + "00" + "05FFFFFF0A0B");
        Assert.False(BleAdvertisement.TryFindFrame(afterEnd, 0, afterEnd.Length, out _, out _));
    }

    [Fact]
    public void Random_advertising_data_never_throws_and_never_points_outside_it()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            bool found = BleAdvertisement.TryFindFrame(bytes, 0, bytes.Length, out int offset, out int count);
            return !found || (offset > 0 && count > 0 && offset + count <= bytes.Length);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }
}
