using Anshimi.Protocol.Security;

namespace Anshimi.Protocol
{
    /// <summary>
    /// Version 2 of the device frame (protocol/README.md §10): a resolvable id that changes with every frame, a direction
    /// bit and the masked key epoch in clear; type, counter, event and payload encrypted and authenticated with an
    /// HMAC-SHA256 SIV construction (tag = HMAC(tag key, header ‖ plaintext), keystream = HMAC(encryption key,
    /// header ‖ tag ‖ block)). Alarm, heartbeat and beacon frames are all 27 bytes; ack, command and re-key 26.
    /// Decoding never throws on bad bytes. Allocation-free after construction except the <see cref="Frame"/>-returning
    /// helpers; not thread-safe.
    /// </summary>
    public sealed class FrameCodecV2
    {
        public const byte Version = 2;
        public const int HeaderLength = 8;
        public const int RandomLength = 3;
        public const int IdHashLength = 3;
        public const int TagLength = 8;

        /// <summary>Plaintext of alarm, heartbeat and beacon: type, counter, qualifier · code, zone, 2 payload bytes.</summary>
        public const int EventPlaintextLength = 11;

        /// <summary>Plaintext of ack, command and re-key: type, counter, 5 payload bytes.</summary>
        public const int DownlinkPlaintextLength = 10;

        public const int UplinkFrameLength = HeaderLength + EventPlaintextLength + TagLength;
        public const int DownlinkFrameLength = HeaderLength + DownlinkPlaintextLength + TagLength;
        public const int MinFrameLength = DownlinkFrameLength;

        public const int UplinkEventOffset = 5;
        public const int UplinkPayloadOffset = 9;
        public const int DownlinkPayloadOffset = 5;
        public const int MinChunkFrameLength = HeaderLength + UplinkPayloadOffset + FramePayloads.SnapshotHeaderLength + 1 + TagLength;
        public const int MaxChunkFrameLength = HeaderLength + UplinkPayloadOffset + FramePayloads.SnapshotHeaderLength + FramePayloads.MaxSnapshotDataLength + TagLength;
        public const int MaxPlaintextLength = MaxChunkFrameLength - HeaderLength - TagLength;

        private const int DownlinkPaddedPayload = DownlinkPlaintextLength - DownlinkPayloadOffset;
        private const int KeystreamInputLength = HeaderLength + TagLength + 1;

        private readonly IHmacSha256 _mac;
        private readonly byte[] _out = new byte[Sha256.HashLength];
        private readonly byte[] _nonceInput = new byte[5];
        private readonly byte[] _keystreamInput = new byte[KeystreamInputLength];
        private readonly byte[] _work = new byte[HeaderLength + MaxPlaintextLength];

        public FrameCodecV2(IHmacSha256 mac)
        {
            _mac = mac;
        }

        /// <summary>The direction bit (<see cref="FrameDirectionBit"/>) a type travels with.</summary>
        public static int DirectionOf(FrameType type)
        {
            return FrameDirection.IsFromGateway(type) ? FrameDirectionBit.Downlink : FrameDirectionBit.Uplink;
        }

        /// <summary>
        /// Writes the sealed frame at buffer[offset..] under <paramref name="keys"/> (its current epoch) and returns its length.
        /// Event fields are only carried uplink; a downlink's must be 0. Alarm, command and re-key payloads are padded
        /// with zeros to their direction's fixed length.
        /// </summary>
        public int Encode(FrameType type, uint counter, ushort eventCode, byte qualifier, ushort zone, byte[] payload, int payloadOffset, int payloadLength, FrameKeySet keys, byte[] buffer, int offset)
        {
            int direction = DirectionOf(type);
            int plainLength = CheckedPlaintextLength(type, direction, eventCode, qualifier, zone, payloadLength);
            int plain = offset + HeaderLength;
            buffer[plain] = (byte)type;
            BigEndian.WriteUInt32(buffer, plain + 1, counter);
            int payloadAt;
            if (direction == FrameDirectionBit.Uplink)
            {
                BigEndian.WriteUInt16(buffer, plain + UplinkEventOffset, (ushort)((qualifier << 12) | eventCode));
                BigEndian.WriteUInt16(buffer, plain + UplinkEventOffset + 2, zone);
                payloadAt = plain + UplinkPayloadOffset;
            }
            else
            {
                payloadAt = plain + DownlinkPayloadOffset;
            }

            System.Array.Clear(buffer, payloadAt, plain + plainLength - payloadAt);
            if (payloadLength > 0)
            {
                System.Array.Copy(payload, payloadOffset, buffer, payloadAt, payloadLength);
            }

            WriteHeader(direction, counter, keys, buffer, offset);
            _mac.Compute(keys.TagKey(direction), buffer, offset, HeaderLength + plainLength, _out);
            int tagAt = plain + plainLength;
            System.Array.Copy(_out, 0, buffer, tagAt, TagLength);
            ApplyKeystream(keys.EncryptionKey(direction), buffer, offset, tagAt, buffer, plain, plainLength);
            return HeaderLength + plainLength + TagLength;
        }

        /// <summary>Encodes a whole <see cref="Frame"/> (its epoch is <paramref name="keys"/>'), into a new array of its length.</summary>
        public byte[] Encode(Frame frame, FrameKeySet keys)
        {
            int plainLength = frame.Type == FrameType.SnapshotChunk
                ? UplinkPayloadOffset + frame.Payload.Length
                : DirectionOf(frame.Type) == FrameDirectionBit.Uplink ? EventPlaintextLength : DownlinkPlaintextLength;
            var buffer = new byte[HeaderLength + plainLength + TagLength];
            Encode(frame.Type, frame.Counter, frame.EventCode, frame.Qualifier, frame.Zone, frame.Payload, 0, frame.Payload.Length, keys, buffer, 0);
            return buffer;
        }

        /// <summary>
        /// The structural checks that need no key, in the order of §10: <see cref="FrameError.None"/> for bytes shaped
        /// like a version-2 frame. Nothing in them is trusted yet.
        /// </summary>
        public static FrameError Validate(byte[] data, int offset, int count)
        {
            if (data == null || offset < 0 || count < 0 || offset > data.Length - count || count < 1)
            {
                return FrameError.TooShort;
            }

            if (data[offset] >> 4 != Version)
            {
                return FrameError.UnknownVersion;
            }

            if ((data[offset] & 0x0E) != 0)
            {
                return FrameError.UnknownType;
            }

            if (count < MinFrameLength)
            {
                return FrameError.TooShort;
            }

            bool fits = ReadDirection(data, offset) == FrameDirectionBit.Uplink
                ? count == UplinkFrameLength || (count >= MinChunkFrameLength && count <= MaxChunkFrameLength)
                : count == DownlinkFrameLength;
            return fits ? FrameError.None : FrameError.LengthMismatch;
        }

        /// <summary>True when the first byte says version 2: the receiver reads the frame with this codec, not version 1's.</summary>
        public static bool IsVersion2(byte[] data, int offset, int count)
        {
            return data != null && count > 0 && offset >= 0 && offset < data.Length && data[offset] >> 4 == Version;
        }

        /// <summary>Direction bit of a frame that <see cref="Validate"/> accepted.</summary>
        public static int ReadDirection(byte[] data, int offset)
        {
            return data[offset] & 0x01;
        }

        /// <summary>
        /// Resolves the frame's id under one device's id-resolving key: its key epoch (0–255) when the id's hash is that
        /// device's, else -1. One HMAC; a receiver with many devices tries each until one matches (§10).
        /// </summary>
        public int ResolveEpoch(byte[] data, int offset, byte[] idKey)
        {
            _mac.Compute(idKey, data, offset + 1, RandomLength, _out);
            int diff = 0;
            for (int i = 0; i < IdHashLength; i++)
            {
                diff |= _out[i] ^ data[offset + 1 + RandomLength + i];
            }

            return diff == 0 ? data[offset + HeaderLength - 1] ^ _out[IdHashLength] : -1;
        }

        /// <summary>
        /// Checks the tag under <paramref name="keys"/> (moved to the frame's epoch by the caller) and decrypts into
        /// plaintext[0..count − 16); then the content rules of §10. Returns the reject reason or <see cref="FrameError.None"/>.
        /// Call after <see cref="Validate"/> and <see cref="ResolveEpoch"/>.
        /// </summary>
        public FrameError Open(byte[] data, int offset, int count, FrameKeySet keys, byte[] plaintext)
        {
            int direction = ReadDirection(data, offset);
            int plainLength = count - HeaderLength - TagLength;
            int tagAt = offset + HeaderLength + plainLength;
            System.Array.Copy(data, offset, _work, 0, HeaderLength);
            ApplyKeystream(keys.EncryptionKey(direction), data, offset, tagAt, data, offset + HeaderLength, plainLength, _work, HeaderLength);
            _mac.Compute(keys.TagKey(direction), _work, 0, HeaderLength + plainLength, _out);
            int diff = 0;
            for (int i = 0; i < TagLength; i++)
            {
                diff |= _out[i] ^ data[tagAt + i];
            }

            if (diff != 0)
            {
                System.Array.Clear(_work, 0, _work.Length);
                return FrameError.BadTag;
            }

            System.Array.Copy(_work, HeaderLength, plaintext, 0, plainLength);
            System.Array.Clear(_work, 0, _work.Length);
            return CheckContent(direction, plaintext, plainLength);
        }

        /// <summary>
        /// Every check of §10 up to the tag and content, at a receiver that takes <paramref name="towardReceiver"/>
        /// (<see cref="FrameDirectionBit"/>), under one device's keys, moving them to the frame's epoch: structure,
        /// direction, id (<see cref="FrameError.UnknownDevice"/> when it does not resolve to this device), tag, content.
        /// Counter and epoch floors are the receiver's (<see cref="EpochCounterFloor"/>).
        /// </summary>
        public FrameError Verify(byte[] data, int offset, int count, int towardReceiver, FrameKeySet keys, byte[] plaintext)
        {
            FrameError error = Validate(data, offset, count);
            if (error != FrameError.None)
            {
                return error;
            }

            if (ReadDirection(data, offset) != towardReceiver)
            {
                return FrameError.WrongDirection;
            }

            int epoch = ResolveEpoch(data, offset, keys.IdKey(ReadDirection(data, offset)));
            if (epoch < 0)
            {
                return FrameError.UnknownDevice;
            }

            keys.MoveTo((byte)epoch);
            return Open(data, offset, count, keys, plaintext);
        }

        /// <summary><see cref="Verify"/>, then the frame as an object (device id supplied by the receiver, who resolved it).</summary>
        public FrameReadResult Decode(byte[] data, int offset, int count, int towardReceiver, uint deviceId, FrameKeySet keys)
        {
            var plaintext = new byte[MaxPlaintextLength];
            FrameError error = Verify(data, offset, count, towardReceiver, keys, plaintext);
            if (error != FrameError.None)
            {
                return FrameReadResult.Fail(error);
            }

            return FrameReadResult.Ok(ReadFrame(plaintext, count - HeaderLength - TagLength, deviceId, keys.Epoch));
        }

        /// <summary>Type of an opened plaintext.</summary>
        public static FrameType ReadType(byte[] plaintext)
        {
            return (FrameType)plaintext[0];
        }

        /// <summary>Counter of an opened plaintext.</summary>
        public static uint ReadCounter(byte[] plaintext)
        {
            return BigEndian.ReadUInt32(plaintext, 1);
        }

        /// <summary>Contact ID event code of an opened uplink plaintext.</summary>
        public static ushort ReadEventCode(byte[] plaintext)
        {
            return (ushort)(BigEndian.ReadUInt16(plaintext, UplinkEventOffset) & 0x0FFF);
        }

        public static byte ReadQualifier(byte[] plaintext)
        {
            return (byte)(plaintext[UplinkEventOffset] >> 4);
        }

        public static ushort ReadZone(byte[] plaintext)
        {
            return BigEndian.ReadUInt16(plaintext, UplinkEventOffset + 2);
        }

        /// <summary>Where a type's payload starts in its plaintext.</summary>
        public static int PayloadOffset(FrameType type)
        {
            return DirectionOf(type) == FrameDirectionBit.Uplink ? UplinkPayloadOffset : DownlinkPayloadOffset;
        }

        /// <summary>The payload length a type carries (without padding) in a plaintext of <paramref name="plainLength"/> bytes.</summary>
        public static int PayloadLength(FrameType type, int plainLength)
        {
            switch (type)
            {
                case FrameType.Alarm:
                    return 0;
                case FrameType.Heartbeat:
                    return FramePayloads.HeartbeatPayloadLength;
                case FrameType.Beacon:
                    return FramePayloads.BeaconPayloadLength;
                case FrameType.Ack:
                    return FrameCodec.AckPayloadLength;
                case FrameType.Command:
                    return FramePayloads.CommandPayloadLength;
                case FrameType.Rekey:
                    return 1;
                case FrameType.EscortKeyPart:
                    return EscortKeyRecord.PartPayloadLength;
                default:
                    return plainLength - UplinkPayloadOffset;
            }
        }

        /// <summary>The frame an opened plaintext holds, for the device the receiver resolved and the epoch the id unmasked.</summary>
        public static Frame ReadFrame(byte[] plaintext, int plainLength, uint deviceId, byte epoch)
        {
            FrameType type = ReadType(plaintext);
            int payloadLength = PayloadLength(type, plainLength);
            var payload = new byte[payloadLength];
            System.Array.Copy(plaintext, PayloadOffset(type), payload, 0, payloadLength);
            bool uplink = DirectionOf(type) == FrameDirectionBit.Uplink;
            return new Frame(
                Version,
                epoch,
                type,
                deviceId,
                ReadCounter(plaintext),
                uplink ? ReadEventCode(plaintext) : (ushort)0,
                uplink ? ReadQualifier(plaintext) : (byte)0,
                uplink ? ReadZone(plaintext) : (ushort)0,
                payload);
        }

        private static int CheckedPlaintextLength(FrameType type, int direction, ushort eventCode, byte qualifier, ushort zone, int payloadLength)
        {
            bool ok;
            int length;
            if (type == FrameType.SnapshotChunk)
            {
                length = UplinkPayloadOffset + payloadLength;
                ok = payloadLength > FramePayloads.SnapshotHeaderLength && length <= MaxPlaintextLength;
            }
            else if (type == FrameType.Alarm || type == FrameType.Heartbeat || type == FrameType.Beacon || type == FrameType.Ack || type == FrameType.Command || type == FrameType.Rekey || type == FrameType.EscortKeyPart)
            {
                length = direction == FrameDirectionBit.Uplink ? EventPlaintextLength : DownlinkPlaintextLength;
                ok = payloadLength == PayloadLength(type, length);
            }
            else
            {
                length = 0;
                ok = false;
            }

            if (!ok || eventCode > ContactIdCode.Max || zone > ContactIdCode.Max || qualifier > 15
                || (direction == FrameDirectionBit.Downlink && (eventCode != 0 || qualifier != 0 || zone != 0)))
            {
                throw new System.ArgumentException("frame field out of range");
            }

            return length;
        }

        /// <summary>The content rules of §10, on a plaintext whose tag checked.</summary>
        private static FrameError CheckContent(int direction, byte[] plain, int plainLength)
        {
            int type = plain[0];
            if (type < (int)FrameType.Alarm || type > (int)FrameType.EscortKeyPart || type == (int)FrameType.Escort)
            {
                return FrameError.UnknownType;
            }

            if (DirectionOf((FrameType)type) != direction)
            {
                return FrameError.WrongDirection;
            }

            if (direction == FrameDirectionBit.Downlink)
            {
                int padFrom = DownlinkPayloadOffset + PayloadLength((FrameType)type, plainLength);
                if (!IsZero(plain, padFrom, plainLength - padFrom))
                {
                    return FrameError.FieldOutOfRange;
                }

                if (type == (int)FrameType.Rekey)
                {
                    return FrameError.None;
                }

                if (type == (int)FrameType.EscortKeyPart)
                {
                    return plain[DownlinkPayloadOffset + 1] < EscortKeyRecord.PartCount ? FrameError.None : FrameError.FieldOutOfRange;
                }

                return FramePayloads.HasValidPayload(type, plain, DownlinkPayloadOffset, PayloadLength((FrameType)type, plainLength), 0, 0, 0)
                    ? FrameError.None
                    : FrameError.FieldOutOfRange;
            }

            bool chunkLength = plainLength != EventPlaintextLength;
            if (chunkLength != (type == (int)FrameType.SnapshotChunk))
            {
                return FrameError.FieldOutOfRange;
            }

            ushort packed = BigEndian.ReadUInt16(plain, UplinkEventOffset);
            byte qualifier = (byte)(packed >> 12);
            ushort code = (ushort)(packed & 0x0FFF);
            ushort zone = BigEndian.ReadUInt16(plain, UplinkEventOffset + 2);
            if (code > ContactIdCode.Max || zone > ContactIdCode.Max || !ContactIdQualifier.IsValid(qualifier))
            {
                return FrameError.FieldOutOfRange;
            }

            if (type == (int)FrameType.Alarm && (code == ContactIdCode.None || qualifier == ContactIdQualifier.None || !IsZero(plain, UplinkPayloadOffset, 2)))
            {
                return FrameError.FieldOutOfRange;
            }

            int payloadLength = PayloadLength((FrameType)type, plainLength);
            return FramePayloads.HasValidPayload(type, plain, UplinkPayloadOffset, payloadLength, code, qualifier, zone)
                ? FrameError.None
                : FrameError.FieldOutOfRange;
        }

        private static bool IsZero(byte[] data, int offset, int count)
        {
            int any = 0;
            for (int i = 0; i < count; i++)
            {
                any |= data[offset + i];
            }

            return any == 0;
        }

        /// <summary>Byte 0, the random part (a PRF of epoch and counter, so a resent frame is the same bytes), the id hash and the masked epoch.</summary>
        private void WriteHeader(int direction, uint counter, FrameKeySet keys, byte[] buffer, int offset)
        {
            byte[] idKey = keys.IdKey(direction);
            buffer[offset] = (byte)((Version << 4) | direction);
            _nonceInput[0] = keys.Epoch;
            BigEndian.WriteUInt32(_nonceInput, 1, counter);
            _mac.Compute(idKey, _nonceInput, 0, _nonceInput.Length, _out);
            System.Array.Copy(_out, 0, buffer, offset + 1, RandomLength);
            _mac.Compute(idKey, buffer, offset + 1, RandomLength, _out);
            System.Array.Copy(_out, 0, buffer, offset + 1 + RandomLength, IdHashLength);
            buffer[offset + HeaderLength - 1] = (byte)(keys.Epoch ^ _out[IdHashLength]);
        }

        private void ApplyKeystream(byte[] encryptionKey, byte[] header, int headerOffset, int tagAt, byte[] data, int dataOffset, int count)
        {
            ApplyKeystream(encryptionKey, header, headerOffset, tagAt, data, dataOffset, count, data, dataOffset);
        }

        /// <summary>output = input ⊕ keystream, block i = HMAC(encryption key, header ‖ tag ‖ i).</summary>
        private void ApplyKeystream(byte[] encryptionKey, byte[] header, int headerOffset, int tagAt, byte[] input, int inputOffset, int count, byte[] output, int outputOffset)
        {
            System.Array.Copy(header, headerOffset, _keystreamInput, 0, HeaderLength);
            System.Array.Copy(header, tagAt, _keystreamInput, HeaderLength, TagLength);
            for (int block = 0; block * Sha256.HashLength < count; block++)
            {
                _keystreamInput[KeystreamInputLength - 1] = (byte)block;
                _mac.Compute(encryptionKey, _keystreamInput, 0, KeystreamInputLength, _out);
                int from = block * Sha256.HashLength;
                int take = count - from < Sha256.HashLength ? count - from : Sha256.HashLength;
                for (int i = 0; i < take; i++)
                {
                    output[outputOffset + from + i] = (byte)(input[inputOffset + from + i] ^ _out[i]);
                }
            }
        }
    }
}
