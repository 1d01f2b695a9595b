namespace Anshimi.Protocol
{
    /// <summary>
    /// Payload layouts of the beacon, command, snapshot-chunk and escort frames (protocol/README.md §3),
    /// with the factories that build them and the readers that take them apart.
    /// Readers assume a frame that <see cref="FrameCodec"/> has already validated.
    /// </summary>
    public static class FramePayloads
    {
        public const int BeaconPayloadLength = 2;
        public const int CommandPayloadLength = 3;
        public const int SnapshotHeaderLength = 8;
        public const int MaxSnapshotDataLength = 200;

        /// <summary>Data of chunk 0 of a snapshot: the image's total length (4) and its SHA-256 (32).</summary>
        public const int SnapshotManifestLength = 4 + Security.Sha256.HashLength;

        public const byte BeaconModeMask = 0x0F;
        public const byte BeaconLampFault = 0x10;
        public const byte BeaconReservedMask = 0xE0;
        public const byte MaxLevel = 100;

        public const int HeartbeatPayloadLength = 2;

        /// <summary>Heartbeat status flags (byte 0): bit 0 a flash write failed, bit 1 downlink frames were rejected; bits 2–7 zero.</summary>
        public const byte HeartbeatFlagStorageFault = 0x01;
        public const byte HeartbeatFlagDownlinkRejected = 0x02;
        public const byte HeartbeatReservedMask = 0xFC;

        /// <summary>Heartbeat battery byte of a mains-powered device; otherwise 0–100 percent.</summary>
        public const byte HeartbeatMainsPowered = 0xFF;

        /// <summary>A streetlight's signed status beacon: its mode, whether its lamp failed, and its level in percent.</summary>
        public static Frame Beacon(uint lightId, uint counter, byte mode, bool lampFault, byte level)
        {
            var payload = new byte[BeaconPayloadLength];
            payload[0] = (byte)(mode | (lampFault ? BeaconLampFault : 0));
            payload[1] = level;
            return new Frame(FrameType.Beacon, lightId, counter, ContactIdCode.None, ContactIdQualifier.None, 0, payload);
        }

        /// <summary>
        /// A version-2 beacon's zone field (§10.1): 0x100 + the epoch of the escort key the light holds as current, 0 while
        /// it holds none; the gateway stops delivering a key once the light's beacon shows its epoch.
        /// </summary>
        public const ushort BeaconEscortKeyFlag = 0x100;

        /// <summary>The escort key epoch a beacon reports, or -1 when it reports none.</summary>
        public static int BeaconEscortEpoch(Frame beacon)
        {
            return (beacon.Zone & 0xFF00) == BeaconEscortKeyFlag ? beacon.Zone & 0xFF : -1;
        }

        public static byte BeaconMode(Frame beacon)
        {
            return (byte)(beacon.Payload[0] & BeaconModeMask);
        }

        public static bool BeaconHasLampFault(Frame beacon)
        {
            return (beacon.Payload[0] & BeaconLampFault) != 0;
        }

        public static byte BeaconLevel(Frame beacon)
        {
            return beacon.Payload[1];
        }

        /// <summary>
        /// A gateway → streetlight command, addressed to one light, signed with that light's key and carrying the
        /// gateway's downlink counter for it. <paramref name="holdSeconds"/>: how long the mode lasts after the
        /// last command repeating it (0 with <see cref="LightMode.Emergency"/>: until released).
        /// </summary>
        public static Frame Command(uint lightId, uint downlinkCounter, byte mode, ushort holdSeconds)
        {
            var payload = new byte[CommandPayloadLength];
            payload[0] = mode;
            BigEndian.WriteUInt16(payload, 1, holdSeconds);
            return new Frame(FrameType.Command, lightId, downlinkCounter, ContactIdCode.None, ContactIdQualifier.None, 0, payload);
        }

        public static byte CommandMode(Frame command)
        {
            return command.Payload[0];
        }

        public static ushort CommandHoldSeconds(Frame command)
        {
            return BigEndian.ReadUInt16(command.Payload, 1);
        }

        /// <summary>
        /// One chunk of a camera snapshot. The event fields repeat the event that took the picture; the snapshot id is
        /// that event's counter. Chunk 0 carries the manifest (<see cref="SnapshotManifestLength"/> bytes).
        /// </summary>
        public static Frame SnapshotChunk(uint deviceId, uint counter, ushort eventCode, byte qualifier, ushort zone, uint snapshotId, ushort index, ushort count, byte[] data, int offset, int length)
        {
            var payload = new byte[SnapshotHeaderLength + length];
            BigEndian.WriteUInt32(payload, 0, snapshotId);
            BigEndian.WriteUInt16(payload, 4, index);
            BigEndian.WriteUInt16(payload, 6, count);
            System.Array.Copy(data, offset, payload, SnapshotHeaderLength, length);
            return new Frame(FrameType.SnapshotChunk, deviceId, counter, eventCode, qualifier, zone, payload);
        }

        public static uint SnapshotId(Frame chunk)
        {
            return BigEndian.ReadUInt32(chunk.Payload, 0);
        }

        public static ushort ChunkIndex(Frame chunk)
        {
            return BigEndian.ReadUInt16(chunk.Payload, 4);
        }

        public static ushort ChunkCount(Frame chunk)
        {
            return BigEndian.ReadUInt16(chunk.Payload, 6);
        }

        public static int ChunkDataLength(Frame chunk)
        {
            return chunk.Payload.Length - SnapshotHeaderLength;
        }

        /// <summary>
        /// The app's escort advertisement for return-home monitoring, signed by the cloud with the escort key the
        /// lights share. <paramref name="unixMinute"/> (whole minutes since 1970-01-01 UTC) is its counter.
        /// </summary>
        public static Frame Escort(uint sessionId, uint unixMinute)
        {
            return new Frame(FrameType.Escort, sessionId, unixMinute, ContactIdCode.None, ContactIdQualifier.None, 0, null!);
        }

        /// <summary>Payload rules of each type, after the header checks; false means field_out_of_range.</summary>
        internal static bool HasValidPayload(int type, byte[] data, int payloadOffset, int payloadLength, int code, int qualifier, int zone)
        {
            switch (type)
            {
                case (int)FrameType.Alarm:
                    return payloadLength == 0;
                case (int)FrameType.Heartbeat:
                    return payloadLength == HeartbeatPayloadLength && code == 0 && qualifier == 0 && zone == 0
                        && (data[payloadOffset] & HeartbeatReservedMask) == 0
                        && (data[payloadOffset + 1] <= MaxLevel || data[payloadOffset + 1] == HeartbeatMainsPowered);
                case (int)FrameType.Ack:
                    return payloadLength == FrameCodec.AckPayloadLength
                        && data[payloadOffset + 4] >= (byte)AckStage.Received
                        && data[payloadOffset + 4] <= (byte)AckStage.SnapshotStored;
                case (int)FrameType.Beacon:
                    return payloadLength == BeaconPayloadLength
                        && LightMode.IsValid(data[payloadOffset] & BeaconModeMask)
                        && (data[payloadOffset] & BeaconReservedMask) == 0
                        && data[payloadOffset + 1] <= MaxLevel;
                case (int)FrameType.Command:
                    return payloadLength == CommandPayloadLength
                        && LightMode.IsValid(data[payloadOffset])
                        && (data[payloadOffset] != LightMode.Escort || BigEndian.ReadUInt16(data, payloadOffset + 1) > 0);
                case (int)FrameType.SnapshotChunk:
                    return HasValidChunk(data, payloadOffset, payloadLength);
                case (int)FrameType.Escort:
                    return payloadLength == 0 && code == 0 && qualifier == 0 && zone == 0;
                default:
                    return true;
            }
        }

        private static bool HasValidChunk(byte[] data, int payloadOffset, int payloadLength)
        {
            int dataLength = payloadLength - SnapshotHeaderLength;
            if (dataLength < 1 || dataLength > MaxSnapshotDataLength)
            {
                return false;
            }

            ushort index = BigEndian.ReadUInt16(data, payloadOffset + 4);
            ushort count = BigEndian.ReadUInt16(data, payloadOffset + 6);
            return count >= 2 && index < count && (index != 0 || dataLength == SnapshotManifestLength);
        }
    }
}
