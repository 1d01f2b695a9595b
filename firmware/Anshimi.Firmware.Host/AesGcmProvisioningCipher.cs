using System.Security.Cryptography;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>HKDF-SHA256 and AES-256-GCM from System.Security.Cryptography.</summary>
public sealed class AesGcmProvisioningCipher : IProvisioningCipher
{
    public const int TagLength = 16;

    public byte[] DeriveKey(byte[] secret, byte[] salt, byte[] info, int length) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, length, salt, info);

    public byte[]? Open(byte[] key, byte[] nonce, byte[] ciphertext, byte[] tag, byte[] associatedData)
    {
        if (key.Length != 32 || nonce.Length != AesGcm.NonceByteSizes.MaxSize || tag.Length != TagLength)
        {
            return null;
        }

        var plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(key, TagLength);
        try
        {
            aes.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}

/// <summary>Nonces from the operating system's CSPRNG.</summary>
public sealed class SystemSecureRandom : ISecureRandom
{
    public void Fill(byte[] buffer) => RandomNumberGenerator.Fill(buffer);
}
