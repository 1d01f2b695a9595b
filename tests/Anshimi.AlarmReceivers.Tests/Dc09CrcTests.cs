using System.Text;
using Anshimi.AlarmReceivers.Dc09;

namespace Anshimi.AlarmReceivers.Tests;

public class Dc09CrcTests
{
    [Fact]
    public void Matches_the_CRC_16_ARC_check_value() =>
        Assert.Equal(0xBB3D, Dc09Crc.Compute("123456789"u8));

    [Fact]
    public void Of_nothing_is_zero() => Assert.Equal(0, Dc09Crc.Compute([]));

    [Theory]
    // Published frames: the CRC field is the CRC-16/ARC of the body (fioletoven/dc09, common/src/dc09/message.tests.rs).
    [InlineData(0xF4D2, "\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]")]
    [InlineData(0x96ED, "\"SIA-DCS\"0001L0#1234[]")]
    public void Matches_published_message_CRCs(int expected, string body) =>
        Assert.Equal(expected, Dc09Crc.Compute(Encoding.ASCII.GetBytes(body)));
}
