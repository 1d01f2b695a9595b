using System.Text;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Protocol.Tests.Provisioning;

/// <summary>The claim code of protocol/README.md §9: dashes on the label's text, none in its QR code or the secret.</summary>
[Trait("Category", "Protocol")]
public sealed class ClaimCodeTests
{
    [Fact]
    public void The_label_text_has_dashes_and_the_QR_code_and_the_secret_have_none()
    {
        string normalized = ClaimCode.Normalize("abcd-efgh-ijkl-mnoz", out _)!;

        Assert.Equal("ABCDEFGH1JK1MN0Z", normalized);
        Assert.Equal("ABCD-EFGH-1JK1-MN0Z", ClaimCode.Format(normalized));
        Assert.Equal("ANSHIMI:1:0000B001:ABCDEFGH1JK1MN0Z", ClaimCode.LabelPayload("0000B001", normalized));
        Assert.Equal(Encoding.ASCII.GetBytes("ABCDEFGH1JK1MN0Z"), ClaimCode.Secret(normalized));
    }

    [Theory]
    [InlineData("ABCD-EFGH-1JK1-MN0Z")]
    [InlineData("ABCDEFGH1JK1MN0Z")]
    [InlineData(" abcd efgh 1jk1 mn0z ")]
    public void A_code_read_with_or_without_dashes_is_the_same_code(string typed)
    {
        Assert.Equal("ABCDEFGH1JK1MN0Z", ClaimCode.Normalize(typed, out _));
    }
}
