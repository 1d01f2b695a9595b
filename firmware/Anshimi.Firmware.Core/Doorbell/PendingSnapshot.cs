namespace Anshimi.Firmware.Doorbell
{
    /// <summary>A snapshot in flash that the gateway has not confirmed (stage-4 ack) yet.</summary>
    public sealed class PendingSnapshot
    {
        public PendingSnapshot(uint snapshotId, ushort eventCode, byte qualifier, ushort zone, int slot, int length, byte[] sha256)
        {
            SnapshotId = snapshotId;
            EventCode = eventCode;
            Qualifier = qualifier;
            Zone = zone;
            Slot = slot;
            Length = length;
            Sha256 = sha256;
        }

        /// <summary>The counter of the event frame that took the picture.</summary>
        public uint SnapshotId { get; }

        public ushort EventCode { get; }

        public byte Qualifier { get; }

        public ushort Zone { get; }

        /// <summary>The flash entry holding the image: <c>snap{Slot}</c>.</summary>
        public int Slot { get; }

        public int Length { get; }

        public byte[] Sha256 { get; }

        /// <summary>An alarm's picture (not a ring's status event): kept longest when flash runs short.</summary>
        public bool IsAlarm
        {
            get { return Qualifier != Anshimi.Protocol.ContactIdQualifier.StatusReport; }
        }

        /// <summary>Manifest chunk plus one chunk per 200 image bytes.</summary>
        public int ChunkCount
        {
            get { return 1 + ((Length + Anshimi.Protocol.FramePayloads.MaxSnapshotDataLength - 1) / Anshimi.Protocol.FramePayloads.MaxSnapshotDataLength); }
        }
    }
}
