namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// The platform's key derivation and authenticated cipher for provisioning: HKDF-SHA256 and
    /// AES-256-GCM (mbedTLS on the ESP32, System.Security.Cryptography on a host).
    /// </summary>
    public interface IProvisioningCipher
    {
        /// <summary>HKDF-SHA256 of <paramref name="secret"/> with salt and info, <paramref name="length"/> bytes.</summary>
        byte[] DeriveKey(byte[] secret, byte[] salt, byte[] info, int length);

        /// <summary>
        /// AES-256-GCM decryption with a 16-byte tag. Returns the plaintext, or null when the tag does
        /// not verify (wrong key, altered bytes).
        /// </summary>
        byte[]? Open(byte[] key, byte[] nonce, byte[] ciphertext, byte[] tag, byte[] associatedData);
    }
}
