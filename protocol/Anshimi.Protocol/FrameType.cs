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
    }
}
