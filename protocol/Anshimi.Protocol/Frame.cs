namespace Anshimi.Protocol
{
    /// <summary>
    /// One device frame, decoded. The same frame travels over MQTT and inside a BLE advertisement
    /// (protocol/README.md §2).
    /// </summary>
    public sealed class Frame
    {
        private static readonly byte[] NoPayload = new byte[0];

        public Frame(FrameType type, uint deviceId, uint counter, ushort eventCode, byte qualifier, ushort zone, byte[] payload)
            : this(FrameCodec.CurrentVersion, 0, type, deviceId, counter, eventCode, qualifier, zone, payload)
        {
        }

        /// <summary>A frame of <paramref name="version"/>; <paramref name="epoch"/> is the key epoch of a version-2 frame (§10), 0 in version 1.</summary>
        public Frame(byte version, byte epoch, FrameType type, uint deviceId, uint counter, ushort eventCode, byte qualifier, ushort zone, byte[] payload)
        {
            Version = version;
            Epoch = epoch;
            Type = type;
            DeviceId = deviceId;
            Counter = counter;
            EventCode = eventCode;
            Qualifier = qualifier;
            Zone = zone;
            Payload = payload == null ? NoPayload : payload;
        }

        public byte Version { get; }

        /// <summary>Key epoch of a version-2 frame; counters are fresh per epoch. Always 0 in version 1.</summary>
        public byte Epoch { get; }

        public FrameType Type { get; }

        public uint DeviceId { get; }

        /// <summary>Monotonic per sender and key: with <see cref="DeviceId"/> the end-to-end idempotency key.</summary>
        public uint Counter { get; }

        /// <summary>Contact ID event code, 0–999 (0 when the frame carries no event).</summary>
        public ushort EventCode { get; }

        /// <summary>Contact ID qualifier: 1 new event, 3 restore, 6 status (0 when none).</summary>
        public byte Qualifier { get; }

        /// <summary>Contact ID zone, 0–999 (the button, sensor or input that raised the event).</summary>
        public ushort Zone { get; }

        public byte[] Payload { get; }

        public static Frame Alarm(uint deviceId, uint counter, ushort eventCode, byte qualifier, ushort zone)
        {
            return new Frame(FrameType.Alarm, deviceId, counter, eventCode, qualifier, zone, null!);
        }

        /// <summary>A gateway → device acknowledgement of the alarm with counter <paramref name="alarmCounter"/>.</summary>
        public static Frame Ack(uint deviceId, uint downlinkCounter, uint alarmCounter, AckStage stage)
        {
            var payload = new byte[FrameCodec.AckPayloadLength];
            BigEndian.WriteUInt32(payload, 0, alarmCounter);
            payload[4] = (byte)stage;
            return new Frame(FrameType.Ack, deviceId, downlinkCounter, ContactIdCode.None, ContactIdQualifier.None, 0, payload);
        }

        /// <summary>The alarm counter an Ack frame acknowledges, or 0 when this is not a well-formed Ack.</summary>
        public uint AckedCounter
        {
            get { return Type == FrameType.Ack && Payload.Length == FrameCodec.AckPayloadLength ? BigEndian.ReadUInt32(Payload, 0) : 0; }
        }

        /// <summary>The stage an Ack frame reports, or 0 when this is not a well-formed Ack.</summary>
        public AckStage AckStage
        {
            get { return Type == FrameType.Ack && Payload.Length == FrameCodec.AckPayloadLength ? (AckStage)Payload[4] : 0; }
        }
    }
}
