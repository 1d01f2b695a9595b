using System.Security.Cryptography;
using Anshimi.Protocol.Security;
using NSec.Cryptography;
using X25519 = Anshimi.Protocol.Security.X25519;

namespace Anshimi.Protocol.Tests.Security;

[Trait("Category", "Protocol")]
public sealed class X25519Tests
{
    // RFC 7748 §5.2: scalar, input u-coordinate, output u-coordinate.
    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Portable_x25519_matches_rfc_7748_section_5_2(string scalarHex, string uHex, string expectedHex)
    {
        var output = new byte[32];
        Assert.True(new X25519().Compute(output, 0, Convert.FromHexString(scalarHex), 0, Convert.FromHexString(uHex), 0));
        Assert.Equal(expectedHex, Convert.ToHexStringLower(output));
    }

    // RFC 7748 §5.2 iterated: k = u = 9, then repeatedly k, u = X25519(k, u), k.
    [Theory]
    [InlineData(1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")]
    [InlineData(1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")]
    public void Portable_x25519_matches_rfc_7748_iterations(int iterations, string expectedHex)
    {
        var x25519 = new X25519();
        var k = new byte[32];
        var u = new byte[32];
        var next = new byte[32];
        k[0] = 9;
        u[0] = 9;
        for (int i = 0; i < iterations; i++)
        {
            x25519.Compute(next, 0, k, 0, u, 0);
            Array.Copy(k, u, 32);
            Array.Copy(next, k, 32);
        }

        Assert.Equal(expectedHex, Convert.ToHexStringLower(k));
    }

    // RFC 7748 §6.1: both key pairs and the shared secret.
    [Fact]
    public void Portable_x25519_reproduces_the_rfc_7748_diffie_hellman_exchange()
    {
        byte[] alicePrivate = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] bobPrivate = Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        var x25519 = new X25519();
        var alicePublic = new byte[32];
        var bobPublic = new byte[32];
        x25519.PublicKey(alicePublic, 0, alicePrivate, 0);
        x25519.PublicKey(bobPublic, 0, bobPrivate, 0);
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexStringLower(alicePublic));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Convert.ToHexStringLower(bobPublic));

        var aliceShared = new byte[32];
        var bobShared = new byte[32];
        x25519.Compute(aliceShared, 0, alicePrivate, 0, bobPublic, 0);
        x25519.Compute(bobShared, 0, bobPrivate, 0, alicePublic, 0);
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Convert.ToHexStringLower(aliceShared));
        Assert.Equal(aliceShared, bobShared);
    }

    [Fact]
    public void Portable_x25519_agrees_with_the_host_library_on_random_keys()
    {
        var host = KeyAgreementAlgorithm.X25519;
        var x25519 = new X25519();
        for (int i = 0; i < 50; i++)
        {
            byte[] ourPrivate = RandomNumberGenerator.GetBytes(32);
            using var ours = Key.Import(host, ourPrivate, KeyBlobFormat.RawPrivateKey);
            using var theirs = Key.Create(host);
            byte[] theirPublic = theirs.PublicKey.Export(KeyBlobFormat.RawPublicKey);

            var portablePublic = new byte[32];
            x25519.PublicKey(portablePublic, 0, ourPrivate, 0);
            Assert.Equal(ours.PublicKey.Export(KeyBlobFormat.RawPublicKey), portablePublic);

            using SharedSecret hostShared = host.Agree(ours, theirs.PublicKey)!;
            var portableShared = new byte[32];
            Assert.True(x25519.Compute(portableShared, 0, ourPrivate, 0, theirPublic, 0));

            // NSec keeps a shared secret unexportable, so both sides pass it through the same HKDF to compare.
            byte[] hostDerived = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(hostShared, [], [], 32);
            Assert.Equal(hostDerived, HKDF.DeriveKey(HashAlgorithmName.SHA256, portableShared, 32, [], []));
        }
    }

    [Fact]
    public void A_low_order_peer_point_gives_an_all_zero_secret_that_compute_reports()
    {
        // u = 0 and u = 1 are points of small order: every scalar maps them to zero (RFC 7748 §6.1's check).
        var output = new byte[32];
        byte[] scalar = RandomNumberGenerator.GetBytes(32);
        var one = new byte[32];
        one[0] = 1;
        Assert.False(new X25519().Compute(output, 0, scalar, 0, new byte[32], 0));
        Assert.False(new X25519().Compute(output, 0, scalar, 0, one, 0));
    }
}
