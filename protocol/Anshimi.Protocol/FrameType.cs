namespace Anshimi.Protocol
{
    /// <summary>Frame type, the low nibble of a frame's first byte (protocol/README.md §2).</summary>
    public enum FrameType : byte
    {
        Alarm = 1,
        Heartbeat = 2,
        Ack = 3,
        Beacon = 4,
        Command = 5,
        SnapshotChunk = 6,
        Escort = 7,

        /// <summary>Version 2 only: gateway → device, move the device's uplinks to a new key epoch (§10).</summary>
        Rekey = 8,

        /// <summary>Version 2 only: gateway → streetlight, one of the 13 parts of its area's escort key record (§10.1).</summary>
        EscortKeyPart = 9,
    }

    /// <summary>
    /// Which way each frame type travels (protocol/README.md §3). In version 1 the type is the only sign of direction,
    /// and one key signs both ways, so a receiver refuses a type that travels the other way (<c>wrong_direction</c>)
    /// before it looks up a key: a device's own uplink heard back must never pass as a downlink.
    /// </summary>
    public static class FrameDirection
    {
        /// <summary>Alarm, heartbeat, beacon and snapshot chunk: from a device to its gateway.</summary>
        public static bool IsTowardGateway(FrameType type)
        {
            return type == FrameType.Alarm || type == FrameType.Heartbeat || type == FrameType.Beacon || type == FrameType.SnapshotChunk;
        }

        /// <summary>Ack, command and (version 2) re-key and escort key part: from a gateway to one device.</summary>
        public static bool IsFromGateway(FrameType type)
        {
            return type == FrameType.Ack || type == FrameType.Command || type == FrameType.Rekey || type == FrameType.EscortKeyPart;
        }
    }
}
