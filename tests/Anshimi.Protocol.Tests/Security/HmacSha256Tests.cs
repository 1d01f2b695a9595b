using System.Security.Cryptography;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Protocol.Tests.Security;

public sealed class HmacSha256Tests
{
    // RFC 4231 §4.2–4.7 (test case 5's truncated output is checked on its first 16 bytes).
    [Theory]
    [InlineData("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")]
    [InlineData("4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")]
    [InlineData("0102030405060708090a0b0c0d0e0f10111213141516171819", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")]
    [InlineData("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e", "a3b6167473100ee06e0c796c2955552b")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")]
    public void Portable_hmac_matches_rfc_4231(string keyHex, string dataHex, string expectedHex)
    {
        byte[] data = Convert.FromHexString(dataHex);
        var output = new byte[32];
        new HmacSha256().Compute(Convert.FromHexString(keyHex), data, 0, data.Length, output);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(output)[..expectedHex.Length]);
    }

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Portable_sha256_matches_fips_180_examples(string message, string expectedHex)
    {
        byte[] data = System.Text.Encoding.ASCII.GetBytes(message);
        var sha = new Sha256();
        sha.Update(data, 0, data.Length);
        var output = new byte[32];
        sha.Final(output, 0);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void Portable_hmac_agrees_with_the_platform_on_random_input()
    {
        var portable = new HmacSha256();
        var platform = new PlatformHmacSha256();
        Prop.ForAll<byte[], byte[]>((key, data) =>
        {
            var a = new byte[32];
            var b = new byte[32];
            int offset = data.Length / 3;
            int count = data.Length - offset;
            portable.Compute(key, data, offset, count, a);
            platform.Compute(key, data, offset, count, b);
            return a.AsSpan().SequenceEqual(b);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Portable_sha256_agrees_with_the_platform_across_block_boundaries_and_split_updates()
    {
        var sha = new Sha256();
        var output = new byte[32];
        for (int length = 0; length < 300; length++)
        {
            byte[] data = RandomNumberGenerator.GetBytes(length);
            int split = length / 2;
            sha.Update(data, 0, split);
            sha.Update(data, split, length - split);
            sha.Final(output, 0);
            Assert.Equal(SHA256.HashData(data), output);
        }
    }
}
