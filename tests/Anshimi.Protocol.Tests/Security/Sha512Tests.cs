using System.Security.Cryptography;
using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Tests.Security;

[Trait("Category", "Protocol")]
public sealed class Sha512Tests
{
    // FIPS 180-4 examples (NIST CSRC "SHA-512" example values) and the one-million-"a" message.
    [Theory]
    [InlineData("", 1, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")]
    [InlineData("abc", 1, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")]
    [InlineData("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")]
    [InlineData("a", 1_000_000, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")]
    public void Portable_sha512_matches_fips_180_examples(string message, int repeat, string expectedHex)
    {
        byte[] data = System.Text.Encoding.ASCII.GetBytes(message);
        var sha = new Sha512();
        for (int i = 0; i < repeat; i++)
        {
            sha.Update(data, 0, data.Length);
        }

        var output = new byte[Sha512.HashLength];
        sha.Final(output, 0);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void Portable_sha512_agrees_with_the_platform_across_block_boundaries_and_split_updates()
    {
        var sha = new Sha512();
        var output = new byte[Sha512.HashLength];
        for (int length = 0; length < 400; length++)
        {
            byte[] data = RandomNumberGenerator.GetBytes(length);
            int split = length / 3;
            sha.Update(data, 0, split);
            sha.Update(data, split, length - split);
            sha.Final(output, 0);
            Assert.Equal(SHA512.HashData(data), output);
        }
    }
}
