namespace Anshimi.Protocol.Provisioning
{
    /// <summary>
    /// The gateway's answer on <c>anshimi/v1/prov/{id}/creds</c>: the device's frame key and broker account,
    /// sealed to the device's factory X25519 key with an ephemeral gateway key, HKDF-SHA256 and AES-256-GCM
    /// (protocol/README.md §9).
    /// </summary>
    public sealed class CredentialsMessage
    {
        public CredentialsMessage(uint deviceId, byte[] deviceNonce, byte[] ephemeralPublicKey, byte[] cipherNonce, byte[] header, byte[] ciphertext, byte[] tag)
        {
            DeviceId = deviceId;
            DeviceNonce = deviceNonce;
            EphemeralPublicKey = ephemeralPublicKey;
            CipherNonce = cipherNonce;
            Header = header;
            Ciphertext = ciphertext;
            Tag = tag;
        }

        public uint DeviceId { get; }

        /// <summary>The nonce of the hello this answers: binds the answer to the device's current power-up.</summary>
        public byte[] DeviceNonce { get; }

        /// <summary>The gateway's X25519 public key for this message only (32 bytes).</summary>
        public byte[] EphemeralPublicKey { get; }

        /// <summary>The 12-byte AES-GCM nonce.</summary>
        public byte[] CipherNonce { get; }

        /// <summary>Bytes 0 … 67 of the message: authenticated as associated data.</summary>
        public byte[] Header { get; }

        public byte[] Ciphertext { get; }

        /// <summary>The 16-byte AES-GCM tag.</summary>
        public byte[] Tag { get; }
    }
}
