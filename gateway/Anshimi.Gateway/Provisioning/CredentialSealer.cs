using System.Security.Cryptography;
using Anshimi.Protocol.Provisioning;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Anshimi.Gateway.Provisioning;

/// <summary>
/// Seals a device's credentials to its factory X25519 public key, the one printed on its label: a fresh
/// ephemeral key pair per message (BouncyCastle), HKDF-SHA256 of the shared secret (salt = device nonce ·
/// ephemeral public key · device public key) and AES-256-GCM (protocol/README.md §9). Only the device's
/// private key opens it — not the label, not the claim code, not anything on the broker — and only the
/// device's current power-up (its nonce) accepts it.
/// </summary>
public static class CredentialSealer
{
    private const int KeyLength = 32;
    private static readonly SecureRandom Random = new();

    public static byte[] Seal(HelloMessage hello, byte[] devicePublicKey, DeviceCredentials credentials) =>
        Seal(hello, devicePublicKey, credentials, new X25519PrivateKeyParameters(Random).GetEncoded(), RandomNumberGenerator.GetBytes(ProvisioningCodec.CipherNonceLength));

    /// <summary>The same with a given ephemeral private key and AES-GCM nonce: only for the specification's vectors, never twice in service.</summary>
    public static byte[] Seal(HelloMessage hello, byte[] devicePublicKey, DeviceCredentials credentials, byte[] ephemeralPrivateKey, byte[] cipherNonce)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(credentials);
        var ephemeral = new X25519PrivateKeyParameters(ephemeralPrivateKey);
        byte[] ephemeralPublic = ephemeral.GeneratePublicKey().GetEncoded();
        var agreement = new X25519Agreement();
        agreement.Init(ephemeral);
        var shared = new byte[agreement.AgreementSize];
        byte[] plaintext = credentials.ToBytes();
        byte[] key = [];
        try
        {
            // BouncyCastle refuses a low-order device key (an all-zero secret) with an exception.
            agreement.CalculateAgreement(new X25519PublicKeyParameters(devicePublicKey), shared, 0);
            key = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, KeyLength, ProvisioningCodec.CredentialsSalt(hello.Nonce, ephemeralPublic, devicePublicKey), ProvisioningCodec.CredentialsKeyInfoBytes());
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
            CryptographicOperations.ZeroMemory(shared);
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
