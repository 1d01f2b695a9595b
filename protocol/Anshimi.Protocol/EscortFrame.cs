using Anshimi.Protocol.Security;

namespace Anshimi.Protocol
{
    /// <summary>
    /// The version-2 escort frame (protocol/README.md §10.1), 20 bytes: kind <c>0x23</c>, area (2), key epoch (1) in clear,
    /// then the Unix minute (4) and the escort's air id (4) sealed like every version-2 frame (tag = HMAC(tag key,
    /// header ‖ plaintext), keystream = HMAC(encryption key, header ‖ tag ‖ 0)). The header is authenticated, so the area
    /// and epoch cannot be changed without a bad tag. Allocation-free after construction; not thread-safe.
    /// </summary>
    public sealed class EscortFrame
    {
        /// <summary>First byte: version 2, direction downlink (bit 0), escort (bit 1).</summary>
        public const byte Kind = 0x23;

        public const int HeaderLength = 4;
        public const int PlaintextLength = 8;
        public const int TagLength = 8;
        public const int Length = HeaderLength + PlaintextLength + TagLength;

        private readonly IHmacSha256 _mac;
        private readonly byte[] _out = new byte[Sha256.HashLength];
        private readonly byte[] _input = new byte[HeaderLength + TagLength + 1];
        private readonly byte[] _plain = new byte[HeaderLength + PlaintextLength];
        private readonly byte[] _session = new byte[4];

        public EscortFrame(IHmacSha256 mac)
        {
            _mac = mac;
        }

        /// <summary>True when the first byte is the escort kind: read with this codec, not as a device frame.</summary>
        public static bool IsEscort(byte[] data, int offset, int count)
        {
            return data != null && count > 0 && offset >= 0 && offset < data.Length && data[offset] == Kind;
        }

        /// <summary>The checks that need no key: length and a non-zero area. Nothing in the frame is trusted yet.</summary>
        public static FrameError Validate(byte[] data, int offset, int count)
        {
            if (data == null || offset < 0 || count < 1 || offset > data.Length - count)
            {
                return FrameError.TooShort;
            }

            if (data[offset] >> 4 != FrameCodecV2.Version)
            {
                return FrameError.UnknownVersion;
            }

            if (data[offset] != Kind)
            {
                return FrameError.UnknownType;
            }

            if (count < Length)
            {
                return FrameError.TooShort;
            }

            if (count != Length)
            {
                return FrameError.LengthMismatch;
            }

            return ReadArea(data, offset) == 0 ? FrameError.FieldOutOfRange : FrameError.None;
        }

        public static ushort ReadArea(byte[] data, int offset)
        {
            return BigEndian.ReadUInt16(data, offset + 1);
        }

        public static byte ReadEpoch(byte[] data, int offset)
        {
            return data[offset + 3];
        }

        /// <summary>
        /// The escort's air id in an area and epoch: the first 4 bytes of HMAC(session key, the app's session handle).
        /// Without the area key it cannot be mapped back to the handle, and it changes with the area and each rotation.
        /// </summary>
        public uint AirId(EscortKeySet keys, uint sessionHandle)
        {
            BigEndian.WriteUInt32(_session, 0, sessionHandle);
            _mac.Compute(keys.SessionKey, _session, 0, _session.Length, _out);
            return BigEndian.ReadUInt32(_out, 0);
        }

        /// <summary>Writes the sealed frame for <paramref name="unixMinute"/> at buffer[offset..] and returns its length.</summary>
        public int Encode(uint unixMinute, uint airId, EscortKeySet keys, byte[] buffer, int offset)
        {
            buffer[offset] = Kind;
            BigEndian.WriteUInt16(buffer, offset + 1, keys.Area);
            buffer[offset + 3] = keys.Epoch;
            BigEndian.WriteUInt32(buffer, offset + HeaderLength, unixMinute);
            BigEndian.WriteUInt32(buffer, offset + HeaderLength + 4, airId);
            _mac.Compute(keys.TagKey, buffer, offset, HeaderLength + PlaintextLength, _out);
            int tagAt = offset + HeaderLength + PlaintextLength;
            System.Array.Copy(_out, 0, buffer, tagAt, TagLength);
            Keystream(keys, buffer, offset, tagAt);
            for (int i = 0; i < PlaintextLength; i++)
            {
                buffer[offset + HeaderLength + i] ^= _out[i];
            }

            return Length;
        }

        /// <summary>
        /// Decrypts and checks the tag under <paramref name="keys"/> (the key of the epoch the header names, for the area it
        /// names). <see cref="FrameError.BadTag"/> or <see cref="FrameError.None"/> with minute and air id. Call after
        /// <see cref="Validate"/>.
        /// </summary>
        public FrameError Open(byte[] data, int offset, EscortKeySet keys, out uint unixMinute, out uint airId)
        {
            unixMinute = 0;
            airId = 0;
            int tagAt = offset + HeaderLength + PlaintextLength;
            Keystream(keys, data, offset, tagAt);
            System.Array.Copy(data, offset, _plain, 0, HeaderLength);
            for (int i = 0; i < PlaintextLength; i++)
            {
                _plain[HeaderLength + i] = (byte)(data[offset + HeaderLength + i] ^ _out[i]);
            }

            _mac.Compute(keys.TagKey, _plain, 0, _plain.Length, _out);
            int diff = 0;
            for (int i = 0; i < TagLength; i++)
            {
                diff |= _out[i] ^ data[tagAt + i];
            }

            if (diff != 0)
            {
                System.Array.Clear(_plain, 0, _plain.Length);
                return FrameError.BadTag;
            }

            unixMinute = BigEndian.ReadUInt32(_plain, HeaderLength);
            airId = BigEndian.ReadUInt32(_plain, HeaderLength + 4);
            System.Array.Clear(_plain, 0, _plain.Length);
            return FrameError.None;
        }

        /// <summary>The first keystream block into _out: HMAC(encryption key, header ‖ tag ‖ 0); 8 bytes of it are used.</summary>
        private void Keystream(EscortKeySet keys, byte[] data, int offset, int tagAt)
        {
            System.Array.Copy(data, offset, _input, 0, HeaderLength);
            System.Array.Copy(data, tagAt, _input, HeaderLength, TagLength);
            _input[HeaderLength + TagLength] = 0;
            _mac.Compute(keys.EncryptionKey, _input, 0, _input.Length, _out);
        }
    }
}
