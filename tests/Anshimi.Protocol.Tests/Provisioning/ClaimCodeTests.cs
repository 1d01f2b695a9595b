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
        byte[] key = Convert.FromHexString("DE9EDB7D7B7DC1B4D35B61C2ECE435373F8343C85B78674DADFC7E146F882B4F");
        Assert.Equal("ANSHIMI:2:0000B001:ABCDEFGH1JK1MN0Z:DE9EDB7D7B7DC1B4D35B61C2ECE435373F8343C85B78674DADFC7E146F882B4F", ClaimCode.LabelPayload("0000B001", normalized, key));
        Assert.Equal("DE9EDB7D-7B7DC1B4-D35B61C2-ECE43537-3F8343C8-5B78674D-ADFC7E14-6F882B4F", ClaimCode.FormatPublicKey(key));
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

    [Fact]
    public void A_scanned_version_2_label_gives_id_code_and_key_and_a_version_1_label_is_refused()
    {
        Assert.True(ClaimCode.TryReadLabel("ANSHIMI:2:0000b001:abcd-efgh-ijkl-mnoz:de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", out string id, out string code, out byte[] key, out _));
        Assert.Equal(("0000B001", "ABCDEFGH1JK1MN0Z"), (id, code));
        Assert.Equal(0xDE, key[0]);

        Assert.False(ClaimCode.TryReadLabel("ANSHIMI:1:0000B001:ABCDEFGH1JK1MN0Z", out _, out _, out _, out string problem));
        Assert.Contains("version-1", problem, StringComparison.Ordinal);
        Assert.False(ClaimCode.TryReadLabel("ANSHIMI:2:0000B001:ABCDEFGH1JK1MN0Z:DE9E", out _, out _, out _, out problem));
        Assert.Contains("64 hex digits", problem, StringComparison.Ordinal);
        Assert.False(ClaimCode.TryReadLabel("hello", out _, out _, out _, out _));
    }
}
