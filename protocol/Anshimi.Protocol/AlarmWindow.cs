namespace Anshimi.Protocol
{
    /// <summary>
    /// The receiver's replay rule for alarm frames (protocol/README.md §2). An alarm that a crash lost
    /// after the broker had acknowledged it comes back later, behind newer counters; refusing it as a
    /// replay would lose it for good. So an authentic alarm that is not yet stored is accepted while
    /// it is within <see cref="Size"/> counters of the newest one accepted; a stored one is a
    /// duplicate (acknowledged again); anything older is a replay.
    /// </summary>
    public static class AlarmWindow
    {
        public const uint Size = 1024;

        /// <summary>
        /// The window of snapshot chunks (§10): a 256 KiB picture is 1,312 chunks of one counter sequence with heartbeats
        /// between them, so a chunk lost early and resent after the last is far more than <see cref="Size"/> behind.
        /// </summary>
        public const uint SnapshotChunkSize = 4096;

        /// <summary>True when an unstored alarm with this counter may still be accepted.</summary>
        public static bool Admits(uint counter, uint highestAccepted)
        {
            return counter > highestAccepted || highestAccepted - counter < Size;
        }

        /// <summary>True when an unstored snapshot chunk with this counter may still be accepted.</summary>
        public static bool AdmitsChunk(uint counter, uint highestAccepted)
        {
            return counter > highestAccepted || highestAccepted - counter < SnapshotChunkSize;
        }
    }
}
