using System.Security.Cryptography;
using Anshimi.Protocol.Provisioning;
using NSec.Cryptography;

namespace Anshimi.Gateway.Provisioning;

/// <summary>A device key no credentials may be sealed to: a low-order point, whose shared secret anyone can compute.</summary>
public sealed class UnsafeDeviceKeyException(string message) : Exception(message);

/// <summary>
/// Seals a device's credentials to its factory X25519 public key, the one printed on its label: a fresh
/// ephemeral key pair per message, HKDF-SHA256 of the shared secret (salt = device nonce · ephemeral public
/// key · device public key) and AES-256-GCM (protocol/README.md §9), with NSec (libsodium) for the curve and
/// HKDF. Only the device's private key opens it — not the label, not the claim code, not anything on the
/// broker — and only the device's current power-up (its nonce) accepts it.
/// </summary>
public static class CredentialSealer
{
    private const int KeyLength = 32;
    private static readonly KeyAgreementAlgorithm Curve = KeyAgreementAlgorithm.X25519;

    /// <exception cref="UnsafeDeviceKeyException">The device key is a low-order point.</exception>
    public static byte[] Seal(HelloMessage hello, byte[] devicePublicKey, DeviceCredentials credentials)
    {
        using var ephemeral = Key.Create(Curve);
        return Seal(hello, devicePublicKey, credentials, ephemeral, RandomNumberGenerator.GetBytes(ProvisioningCodec.CipherNonceLength));
    }

    /// <summary>The same with a given ephemeral private key and AES-GCM nonce: only for the specification's vectors, never twice in service.</summary>
    public static byte[] Seal(HelloMessage hello, byte[] devicePublicKey, DeviceCredentials credentials, byte[] ephemeralPrivateKey, byte[] cipherNonce)
    {
        using var ephemeral = Key.Import(Curve, ephemeralPrivateKey, KeyBlobFormat.RawPrivateKey);
        return Seal(hello, devicePublicKey, credentials, ephemeral, cipherNonce);
    }

    private static byte[] Seal(HelloMessage hello, byte[] devicePublicKey, DeviceCredentials credentials, Key ephemeral, byte[] cipherNonce)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(credentials);
        if (devicePublicKey is not { Length: KeyLength })
        {
            throw new UnsafeDeviceKeyException("the device key must be " + KeyLength + " bytes");
        }

        byte[] ephemeralPublic = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);

        // libsodium refuses every low-order point (and so an all-zero secret); the salt keeps the key as printed.
        using SharedSecret shared = Curve.Agree(ephemeral, PublicKey.Import(Curve, devicePublicKey, KeyBlobFormat.RawPublicKey))
            ?? throw new UnsafeDeviceKeyException("the device key is a low-order point: anyone could open what is sealed to it");

        byte[] plaintext = credentials.ToBytes();
        byte[] key = [];
        try
        {
            key = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, ProvisioningCodec.CredentialsSalt(hello.Nonce, ephemeralPublic, devicePublicKey), ProvisioningCodec.CredentialsKeyInfoBytes(), KeyLength);
            byte[] header = ProvisioningCodec.EncodeCredentialsHeader(hello.DeviceId, hello.Nonce, ephemeralPublic, cipherNonce, plaintext.Length);
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[ProvisioningCodec.CipherTagLength];
            using (var aes = new AesGcm(key, ProvisioningCodec.CipherTagLength))
            {
                aes.Encrypt(cipherNonce, plaintext, ciphertext, tag, header);
            }

            return ProvisioningCodec.JoinCredentials(header, ciphertext, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>True when the hello's tag verifies under the claim secret: the installer holds this device's label.</summary>
    public static bool HelloMatches(byte[] rawHello, HelloMessage hello, byte[] claimSecret)
    {
        byte[] helloKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, claimSecret, KeyLength, hello.Nonce, ProvisioningCodec.HelloKeyInfoBytes());
        return new ProvisioningCodec(new Protocol.Upstream.PlatformHmacSha256()).HasValidHelloTag(rawHello, helloKey);
    }
}
