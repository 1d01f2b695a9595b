using System.Security.Cryptography;
using Anshimi.Gateway.Provisioning;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// The gateway's sealer on keys the vectors do not hold: a random device key opens with the device's portable
/// X25519, and every low-order point — as printed, or with the top bit set that X25519 ignores — is refused
/// with a typed error before anything is sealed (protocol/README.md §9).
/// </summary>
[Trait("Category", "Protocol")]
public sealed class CredentialSealerTests
{
    // RFC 7748 §6.1 and libsodium's list: u = 0, 1, the two points of order 8, p − 1, p and p + 1.
    public static TheoryData<string> LowOrderPoints => new()
    {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    };

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public void A_low_order_device_key_is_refused_with_a_typed_error(string keyHex)
    {
        var ex = Assert.Throws<UnsafeDeviceKeyException>(() => CredentialSealer.Seal(Hello(), Convert.FromHexString(keyHex), Credentials()));
        Assert.Contains("low-order", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void A_device_key_of_the_wrong_length_is_refused_with_a_typed_error(int length) =>
        Assert.Throws<UnsafeDeviceKeyException>(() => CredentialSealer.Seal(Hello(), new byte[length], Credentials()));

    [Fact]
    public void Credentials_sealed_to_a_random_device_key_open_with_the_device_s_private_key_and_a_fresh_ephemeral_each_time()
    {
        byte[] devicePrivate = RandomNumberGenerator.GetBytes(32);
        var devicePublic = new byte[32];
        new X25519().PublicKey(devicePublic, 0, devicePrivate, 0);
        HelloMessage hello = Hello();
        DeviceCredentials credentials = Credentials();

        byte[] first = CredentialSealer.Seal(hello, devicePublic, credentials);
        byte[] second = CredentialSealer.Seal(hello, devicePublic, credentials);

        Assert.Equal(credentials.ToBytes(), Open(first, devicePrivate, devicePublic));
        Assert.Equal(credentials.ToBytes(), Open(second, devicePrivate, devicePublic));
        Assert.NotEqual(ProvisioningCodec.ReadCredentials(first)!.EphemeralPublicKey, ProvisioningCodec.ReadCredentials(second)!.EphemeralPublicKey);
    }

    /// <summary>Opens as the device does: portable X25519, the platform's HKDF and AES-GCM.</summary>
    private static byte[] Open(byte[] answer, byte[] devicePrivate, byte[] devicePublic)
    {
        CredentialsMessage message = ProvisioningCodec.ReadCredentials(answer)!;
        var shared = new byte[32];
        Assert.True(new X25519().Compute(shared, 0, devicePrivate, 0, message.EphemeralPublicKey, 0));
        byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, ProvisioningCodec.CredentialsSalt(message.DeviceNonce, message.EphemeralPublicKey, devicePublic), ProvisioningCodec.CredentialsKeyInfoBytes());
        var plaintext = new byte[message.Ciphertext.Length];
        using var aes = new AesGcm(key, ProvisioningCodec.CipherTagLength);
        aes.Decrypt(message.CipherNonce, message.Ciphertext, message.Tag, plaintext, message.Header);
        return plaintext;
    }

    private static HelloMessage Hello() => new(0x0000B001, RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength), new byte[32], "home", "1.0.0");

    private static DeviceCredentials Credentials() => new(RandomNumberGenerator.GetBytes(DeviceCredentials.KeyLength), "0000B001", "pw-" + Guid.NewGuid().ToString("N"));
}
