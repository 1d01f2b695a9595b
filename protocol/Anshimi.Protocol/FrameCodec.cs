using Anshimi.Protocol.Security;

namespace Anshimi.Protocol
{
    /// <summary>
    /// Encodes and decodes the binary device frame (protocol/README.md §2):
    /// <c>ver|type · device id · counter · qualifier|code · zone · payload length · payload · tag</c>.
    /// Decoding never throws on bad bytes: it returns a <see cref="FrameReadResult"/>. Not thread-safe.
    /// </summary>
    public sealed class FrameCodec
    {
        public const byte CurrentVersion = 1;
        public const int HeaderLength = 14;
        public const int TagLength = 8;
        public const int MinFrameLength = HeaderLength + TagLength;
        public const int MaxPayloadLength = 255;
        public const int MaxFrameLength = MinFrameLength + MaxPayloadLength;
        public const int AckPayloadLength = 5;

        /// <summary>Frame bytes left in a legacy advertisement after Flags (3) and the manufacturer-data header (4).</summary>
        public const int MaxAdvertisedFrameLength = 24;

        /// <summary>Frame bytes left in a non-connectable legacy advertisement that carries no Flags (gateway downlink).</summary>
        public const int MaxFlaglessAdvertisedFrameLength = 27;

        private readonly IHmacSha256 _mac;
        private readonly byte[] _macOutput = new byte[Sha256.HashLength];

        public FrameCodec(IHmacSha256 mac)
        {
            _mac = mac;
        }

        public static int EncodedLength(Frame frame)
        {
            return MinFrameLength + frame.Payload.Length;
        }

        public byte[] Encode(Frame frame, byte[] key)
        {
            var buffer = new byte[EncodedLength(frame)];
            Encode(frame, key, buffer, 0);
            return buffer;
        }

        /// <summary>Writes the signed frame at buffer[offset..] and returns its length.</summary>
        public int Encode(Frame frame, byte[] key, byte[] buffer, int offset)
        {
            if (frame.Payload.Length > MaxPayloadLength || frame.EventCode > ContactIdCode.Max || frame.Zone > ContactIdCode.Max || frame.Qualifier > 15)
            {
                throw new System.ArgumentException("frame field out of range");
            }

            buffer[offset] = (byte)((frame.Version << 4) | (byte)frame.Type);
            BigEndian.WriteUInt32(buffer, offset + 1, frame.DeviceId);
            BigEndian.WriteUInt32(buffer, offset + 5, frame.Counter);
            BigEndian.WriteUInt16(buffer, offset + 9, (ushort)((frame.Qualifier << 12) | frame.EventCode));
            BigEndian.WriteUInt16(buffer, offset + 11, frame.Zone);
            buffer[offset + 13] = (byte)frame.Payload.Length;
            System.Array.Copy(frame.Payload, 0, buffer, offset + HeaderLength, frame.Payload.Length);
            int signedLength = HeaderLength + frame.Payload.Length;
            _mac.Compute(key, buffer, offset, signedLength, _macOutput);
            System.Array.Copy(_macOutput, 0, buffer, offset + signedLength, TagLength);
            return signedLength + TagLength;
        }

        /// <summary>
        /// Reads the structure only, without checking the tag: enough to learn the device id and find its key.
        /// Never trust a frame from this call alone.
        /// </summary>
        public static FrameReadResult ReadUnverified(byte[] data, int offset, int count)
        {
            if (data == null || offset < 0 || count < 0 || offset > data.Length - count)
            {
                return FrameReadResult.Fail(FrameError.TooShort);
            }

            if (count < 1)
            {
                return FrameReadResult.Fail(FrameError.TooShort);
            }

            int version = data[offset] >> 4;
            if (version != CurrentVersion)
            {
                return FrameReadResult.Fail(FrameError.UnknownVersion);
            }

            int type = data[offset] & 0x0F;
            if (type < (int)FrameType.Alarm || type > (int)FrameType.Escort)
            {
                return FrameReadResult.Fail(FrameError.UnknownType);
            }

            if (count < MinFrameLength)
            {
                return FrameReadResult.Fail(FrameError.TooShort);
            }

            int payloadLength = data[offset + 13];
            if (count != MinFrameLength + payloadLength)
            {
                return FrameReadResult.Fail(FrameError.LengthMismatch);
            }

            ushort packed = BigEndian.ReadUInt16(data, offset + 9);
            byte qualifier = (byte)(packed >> 12);
            ushort code = (ushort)(packed & 0x0FFF);
            ushort zone = BigEndian.ReadUInt16(data, offset + 11);
            if (code > ContactIdCode.Max || zone > ContactIdCode.Max || !ContactIdQualifier.IsValid(qualifier))
            {
                return FrameReadResult.Fail(FrameError.FieldOutOfRange);
            }

            if (type == (int)FrameType.Alarm && (code == ContactIdCode.None || qualifier == ContactIdQualifier.None))
            {
                return FrameReadResult.Fail(FrameError.FieldOutOfRange);
            }

            if (!FramePayloads.HasValidPayload(type, data, offset + HeaderLength, payloadLength, code, qualifier, zone))
            {
                return FrameReadResult.Fail(FrameError.FieldOutOfRange);
            }

            var payload = new byte[payloadLength];
            System.Array.Copy(data, offset + HeaderLength, payload, 0, payloadLength);
            var frame = new Frame(
                (FrameType)type,
                BigEndian.ReadUInt32(data, offset + 1),
                BigEndian.ReadUInt32(data, offset + 5),
                code,
                qualifier,
                zone,
                payload);
            return FrameReadResult.Ok(frame);
        }

        /// <summary>Reads the frame and checks its tag under <paramref name="key"/>.</summary>
        public FrameReadResult Decode(byte[] data, int offset, int count, byte[] key)
        {
            FrameReadResult structure = ReadUnverified(data, offset, count);
            if (!structure.IsOk)
            {
                return structure;
            }

            return HasValidTag(data, offset, count, key) ? structure : FrameReadResult.Fail(FrameError.BadTag);
        }

        /// <summary>Constant-time check of the truncated HMAC tag that ends the frame.</summary>
        public bool HasValidTag(byte[] data, int offset, int count, byte[] key)
        {
            if (count < MinFrameLength || key == null)
            {
                return false;
            }

            int signedLength = count - TagLength;
            _mac.Compute(key, data, offset, signedLength, _macOutput);
            int diff = 0;
            for (int i = 0; i < TagLength; i++)
            {
                diff |= _macOutput[i] ^ data[offset + signedLength + i];
            }

            return diff == 0;
        }
    }
}
