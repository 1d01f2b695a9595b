using System.Security.Cryptography;
using Anshimi.Protocol.Provisioning;

namespace Anshimi.Gateway.Provisioning;

/// <summary>
/// Seals a device's credentials for the hello it sent: AES-256-GCM under HKDF-SHA256(claim secret,
/// salt = device nonce · gateway nonce). Only a holder of the claim code can open it, and only the
/// device's current power-up (its nonce) accepts it.
/// </summary>
public static class CredentialSealer
{
    private const int KeyLength = 32;

    public static byte[] Seal(HelloMessage hello, byte[] claimSecret, DeviceCredentials credentials)
    {
        byte[] gatewayNonce = RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength);
        byte[] cipherNonce = RandomNumberGenerator.GetBytes(ProvisioningCodec.CipherNonceLength);
        byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, claimSecret, KeyLength, ProvisioningCodec.CredentialsSalt(hello.Nonce, gatewayNonce), ProvisioningCodec.CredentialsKeyInfoBytes());
        byte[] plaintext = credentials.ToBytes();
        try
        {
            byte[] header = ProvisioningCodec.EncodeCredentialsHeader(hello.DeviceId, hello.Nonce, gatewayNonce, cipherNonce, plaintext.Length);
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
