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
    public void Random_advertising_data_never_throws_and_never_points_outside_it()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            bool found = BleAdvertisement.TryFindFrame(bytes, 0, bytes.Length, out int offset, out int count);
            return !found || (offset > 0 && count > 0 && offset + count <= bytes.Length);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }
}
