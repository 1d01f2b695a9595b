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
            return Encode(frame.Type, frame.DeviceId, frame.Counter, frame.EventCode, frame.Qualifier, frame.Zone, frame.Payload, 0, frame.Payload.Length, key, buffer, offset);
        }

        /// <summary>
        /// Writes a signed frame from its fields at buffer[offset..] and returns its length, without allocating:
        /// for devices that send a frame every few seconds for years.
        /// </summary>
        public int Encode(FrameType type, uint deviceId, uint counter, ushort eventCode, byte qualifier, ushort zone, byte[] payload, int payloadOffset, int payloadLength, byte[] key, byte[] buffer, int offset)
        {
            if (payloadLength < 0 || payloadLength > MaxPayloadLength || eventCode > ContactIdCode.Max || zone > ContactIdCode.Max || qualifier > 15)
            {
                throw new System.ArgumentException("frame field out of range");
            }

            buffer[offset] = (byte)((CurrentVersion << 4) | (byte)type);
            BigEndian.WriteUInt32(buffer, offset + 1, deviceId);
            BigEndian.WriteUInt32(buffer, offset + 5, counter);
            BigEndian.WriteUInt16(buffer, offset + 9, (ushort)((qualifier << 12) | eventCode));
            BigEndian.WriteUInt16(buffer, offset + 11, zone);
            buffer[offset + 13] = (byte)payloadLength;
            if (payloadLength > 0)
            {
                System.Array.Copy(payload, payloadOffset, buffer, offset + HeaderLength, payloadLength);
            }

            int signedLength = HeaderLength + payloadLength;
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
            FrameError error = Validate(data, offset, count);
            if (error != FrameError.None)
            {
                return FrameReadResult.Fail(error);
            }

            ushort packed = BigEndian.ReadUInt16(data, offset + 9);
            int payloadLength = data[offset + 13];
            var payload = new byte[payloadLength];
            System.Array.Copy(data, offset + HeaderLength, payload, 0, payloadLength);
            var frame = new Frame(
                (FrameType)(data[offset] & 0x0F),
                BigEndian.ReadUInt32(data, offset + 1),
                BigEndian.ReadUInt32(data, offset + 5),
                (ushort)(packed & 0x0FFF),
                (byte)(packed >> 12),
                BigEndian.ReadUInt16(data, offset + 11),
                payload);
            return FrameReadResult.Ok(frame);
        }

        /// <summary>
        /// The structural checks of §2 in their order, without allocating: <see cref="FrameError.None"/> when the bytes
        /// are a well-formed frame. The tag is not checked; the static readers below may then be used on the bytes.
        /// </summary>
        public static FrameError Validate(byte[] data, int offset, int count)
        {
            if (data == null || offset < 0 || count < 0 || offset > data.Length - count)
            {
                return FrameError.TooShort;
            }

            if (count < 1)
            {
                return FrameError.TooShort;
            }

            int version = data[offset] >> 4;
            if (version != CurrentVersion)
            {
                return FrameError.UnknownVersion;
            }

            int type = data[offset] & 0x0F;
            if (type < (int)FrameType.Alarm || type > (int)FrameType.Escort)
            {
                return FrameError.UnknownType;
            }

            if (count < MinFrameLength)
            {
                return FrameError.TooShort;
            }

            int payloadLength = data[offset + 13];
            if (count != MinFrameLength + payloadLength)
            {
                return FrameError.LengthMismatch;
            }

            ushort packed = BigEndian.ReadUInt16(data, offset + 9);
            byte qualifier = (byte)(packed >> 12);
            ushort code = (ushort)(packed & 0x0FFF);
            ushort zone = BigEndian.ReadUInt16(data, offset + 11);
            if (code > ContactIdCode.Max || zone > ContactIdCode.Max || !ContactIdQualifier.IsValid(qualifier))
            {
                return FrameError.FieldOutOfRange;
            }

            if (type == (int)FrameType.Alarm && (code == ContactIdCode.None || qualifier == ContactIdQualifier.None))
            {
                return FrameError.FieldOutOfRange;
            }

            if (!FramePayloads.HasValidPayload(type, data, offset + HeaderLength, payloadLength, code, qualifier, zone))
            {
                return FrameError.FieldOutOfRange;
            }

            return FrameError.None;
        }

        /// <summary>Frame type of a frame that <see cref="Validate"/> accepted.</summary>
        public static FrameType ReadType(byte[] data, int offset)
        {
            return (FrameType)(data[offset] & 0x0F);
        }

        /// <summary>Device id of a frame that <see cref="Validate"/> accepted.</summary>
        public static uint ReadDeviceId(byte[] data, int offset)
        {
            return BigEndian.ReadUInt32(data, offset + 1);
        }

        /// <summary>Counter of a frame that <see cref="Validate"/> accepted.</summary>
        public static uint ReadCounter(byte[] data, int offset)
        {
            return BigEndian.ReadUInt32(data, offset + 5);
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

        /// <summary>
        /// <see cref="Validate"/> and then the tag under <paramref name="key"/>, without allocating: the same outcome as
        /// <see cref="Decode"/> gives, as a reject reason.
        /// </summary>
        public FrameError Verify(byte[] data, int offset, int count, byte[] key)
        {
            FrameError error = Validate(data, offset, count);
            if (error != FrameError.None)
            {
                return error;
            }

            return HasValidTag(data, offset, count, key) ? FrameError.None : FrameError.BadTag;
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
