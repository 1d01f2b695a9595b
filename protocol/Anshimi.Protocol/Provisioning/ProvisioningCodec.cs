using Anshimi.Protocol.Security;

namespace Anshimi.Protocol.Provisioning
{
    /// <summary>
    /// Byte layouts of the provisioning messages, version 2 (protocol/README.md §9). Readers return null for
    /// anything malformed; they never throw on input. Version 1, sealed to the label's claim code alone, is
    /// refused: <see cref="IsVersion1Hello"/> tells it apart so that it is counted, not just dropped.
    /// </summary>
    public sealed class ProvisioningCodec
    {
        public const byte Version = 2;
        public const byte Version1 = 1;
        public const byte TypeHello = 1;
        public const byte TypeCredentials = 2;
        public const int NonceLength = 16;
        public const int PublicKeyLength = 32;
        public const int CipherNonceLength = 12;
        public const int HelloTagLength = 16;
        public const int CipherTagLength = 16;
        public const int MaxTextLength = 32;

        /// <summary>Bytes before the ciphertext of a credentials message (also its associated data).</summary>
        public const int CredentialsHeaderLength = 2 + 4 + NonceLength + PublicKeyLength + CipherNonceLength + 2;

        /// <summary>HKDF info for the key that tags a hello (IKM: the claim secret; salt: the hello's nonce).</summary>
        public const string HelloKeyInfo = "anshimi/v2/prov hello";

        /// <summary>HKDF info for the key that seals credentials (IKM: the X25519 shared secret; salt: <see cref="CredentialsSalt"/>).</summary>
        public const string CredentialsKeyInfo = "anshimi/v2/prov credentials";

        /// <summary>Largest message either side accepts.</summary>
        public const int MaxMessageLength = 512;

        private const int HelloMinLength = 2 + 4 + NonceLength + PublicKeyLength + 1 + 1 + 1 + 1 + HelloTagLength;

        private readonly IHmacSha256 _mac;
        private readonly byte[] _macOutput = new byte[32];

        public ProvisioningCodec(IHmacSha256 mac)
        {
            _mac = mac;
        }

        public static byte[] HelloKeyInfoBytes()
        {
            return ProvisioningText.ToBytes(HelloKeyInfo);
        }

        public static byte[] CredentialsKeyInfoBytes()
        {
            return ProvisioningText.ToBytes(CredentialsKeyInfo);
        }

        /// <summary>
        /// Salt of the credentials key: device nonce · ephemeral public key · device public key, so the key is
        /// bound to this power-up and to both halves of the exchange.
        /// </summary>
        public static byte[] CredentialsSalt(byte[] deviceNonce, byte[] ephemeralPublicKey, byte[] devicePublicKey)
        {
            var salt = new byte[NonceLength + (2 * PublicKeyLength)];
            System.Array.Copy(deviceNonce, 0, salt, 0, NonceLength);
            System.Array.Copy(ephemeralPublicKey, 0, salt, NonceLength, PublicKeyLength);
            System.Array.Copy(devicePublicKey, 0, salt, NonceLength + PublicKeyLength, PublicKeyLength);
            return salt;
        }

        /// <summary>True for a well-started version-1 hello: refused by version-2 gateways and counted apart.</summary>
        public static bool IsVersion1Hello(byte[] data)
        {
            return data != null && data.Length >= 2 && data[0] == Version1 && data[1] == TypeHello;
        }

        /// <summary>version · type · device id · nonce · public key · profile (len, ASCII) · firmware (len, ASCII) · tag (16).</summary>
        public byte[] EncodeHello(HelloMessage hello, byte[] helloKey)
        {
            byte[] profile = ProvisioningText.ToBytes(hello.Profile);
            byte[] firmware = ProvisioningText.ToBytes(hello.FirmwareVersion);
            int signed = 2 + 4 + NonceLength + PublicKeyLength + 1 + profile.Length + 1 + firmware.Length;
            var data = new byte[signed + HelloTagLength];
            data[0] = Version;
            data[1] = TypeHello;
            BigEndian.WriteUInt32(data, 2, hello.DeviceId);
            System.Array.Copy(hello.Nonce, 0, data, 6, NonceLength);
            System.Array.Copy(hello.PublicKey, 0, data, 6 + NonceLength, PublicKeyLength);
            int at = 6 + NonceLength + PublicKeyLength;
            data[at] = (byte)profile.Length;
            System.Array.Copy(profile, 0, data, at + 1, profile.Length);
            at += 1 + profile.Length;
            data[at] = (byte)firmware.Length;
            System.Array.Copy(firmware, 0, data, at + 1, firmware.Length);
            _mac.Compute(helloKey, data, 0, signed, _macOutput);
            System.Array.Copy(_macOutput, 0, data, signed, HelloTagLength);
            return data;
        }

        /// <summary>The hello's fields before its tag is checked, or null when malformed.</summary>
        public static HelloMessage? ReadHello(byte[] data)
        {
            if (data == null || data.Length < HelloMinLength || data.Length > MaxMessageLength || data[0] != Version || data[1] != TypeHello)
            {
                return null;
            }

            int at = 6 + NonceLength + PublicKeyLength;
            int profileLength = data[at];
            string? profile = ProvisioningText.Read(data, at + 1, profileLength, MaxTextLength);
            at += 1 + profileLength;
            if (profile == null || at >= data.Length)
            {
                return null;
            }

            int firmwareLength = data[at];
            string? firmware = ProvisioningText.Read(data, at + 1, firmwareLength, MaxTextLength);
            at += 1 + firmwareLength;
            if (firmware == null || at + HelloTagLength != data.Length)
            {
                return null;
            }

            return new HelloMessage(BigEndian.ReadUInt32(data, 2), Slice(data, 6, NonceLength), Slice(data, 6 + NonceLength, PublicKeyLength), profile, firmware);
        }

        /// <summary>Constant-time check of a hello's tag under the key derived from a claim secret.</summary>
        public bool HasValidHelloTag(byte[] data, byte[] helloKey)
        {
            if (data == null || data.Length < HelloMinLength)
            {
                return false;
            }

            int signed = data.Length - HelloTagLength;
            _mac.Compute(helloKey, data, 0, signed, _macOutput);
            int diff = 0;
            for (int i = 0; i < HelloTagLength; i++)
            {
                diff |= _macOutput[i] ^ data[signed + i];
            }

            return diff == 0;
        }

        /// <summary>The associated data of a credentials message: everything before the ciphertext.</summary>
        public static byte[] EncodeCredentialsHeader(uint deviceId, byte[] deviceNonce, byte[] ephemeralPublicKey, byte[] cipherNonce, int ciphertextLength)
        {
            var header = new byte[CredentialsHeaderLength];
            header[0] = Version;
            header[1] = TypeCredentials;
            BigEndian.WriteUInt32(header, 2, deviceId);
            System.Array.Copy(deviceNonce, 0, header, 6, NonceLength);
            System.Array.Copy(ephemeralPublicKey, 0, header, 6 + NonceLength, PublicKeyLength);
            System.Array.Copy(cipherNonce, 0, header, 6 + NonceLength + PublicKeyLength, CipherNonceLength);
            BigEndian.WriteUInt16(header, CredentialsHeaderLength - 2, (ushort)ciphertextLength);
            return header;
        }

        /// <summary>header · ciphertext · tag.</summary>
        public static byte[] JoinCredentials(byte[] header, byte[] ciphertext, byte[] tag)
        {
            var data = new byte[header.Length + ciphertext.Length + tag.Length];
            System.Array.Copy(header, 0, data, 0, header.Length);
            System.Array.Copy(ciphertext, 0, data, header.Length, ciphertext.Length);
            System.Array.Copy(tag, 0, data, header.Length + ciphertext.Length, tag.Length);
            return data;
        }

        /// <summary>The parts of a credentials message, or null when its layout is wrong (nothing is decrypted here).</summary>
        public static CredentialsMessage? ReadCredentials(byte[] data)
        {
            if (data == null || data.Length < CredentialsHeaderLength + CipherTagLength || data.Length > MaxMessageLength ||
                data[0] != Version || data[1] != TypeCredentials)
            {
                return null;
            }

            int length = BigEndian.ReadUInt16(data, CredentialsHeaderLength - 2);
            if (length == 0 || CredentialsHeaderLength + length + CipherTagLength != data.Length)
            {
                return null;
            }

            return new CredentialsMessage(
                BigEndian.ReadUInt32(data, 2),
                Slice(data, 6, NonceLength),
                Slice(data, 6 + NonceLength, PublicKeyLength),
                Slice(data, 6 + NonceLength + PublicKeyLength, CipherNonceLength),
                Slice(data, 0, CredentialsHeaderLength),
                Slice(data, CredentialsHeaderLength, length),
                Slice(data, CredentialsHeaderLength + length, CipherTagLength));
        }

        /// <summary>True when both arrays hold the same bytes (for nonces: not secret, so not constant-time).</summary>
        public static bool SameBytes(byte[] a, byte[] b)
        {
            if (a == null || b == null || a.Length != b.Length)
            {
                return false;
            }

            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static byte[] Slice(byte[] data, int offset, int count)
        {
            var part = new byte[count];
            System.Array.Copy(data, offset, part, 0, count);
            return part;
        }
    }
}
