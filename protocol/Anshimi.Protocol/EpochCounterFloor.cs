namespace Anshimi.Protocol
{
    /// <summary>
    /// A version-2 receiver's floor for one sender and direction (protocol/README.md §10): the key epoch it has moved to
    /// and the highest counter accepted in it. Frames of older epochs are <c>stale_epoch</c>; a newer epoch (its tag
    /// checked under that epoch's keys) starts with no counter used. Kept as one 5-byte record, so a power cut leaves
    /// the old pair or the new pair, never the new epoch with the old counter.
    /// </summary>
    public sealed class EpochCounterFloor
    {
        public const int RecordLength = 5;

        public EpochCounterFloor(byte epoch, uint counter)
        {
            Epoch = epoch;
            Counter = counter;
        }

        public byte Epoch { get; private set; }

        public uint Counter { get; private set; }

        /// <summary>
        /// <see cref="FrameError.None"/> for a fresh (epoch, counter), <see cref="FrameError.StaleEpoch"/> below the
        /// epoch, <see cref="FrameError.Replayed"/> at or below the counter (the floor itself is a repeat: <see cref="IsRepeat"/>).
        /// </summary>
        public FrameError Check(byte epoch, uint counter)
        {
            if (epoch < Epoch)
            {
                return FrameError.StaleEpoch;
            }

            return epoch > Epoch || counter > Counter ? FrameError.None : FrameError.Replayed;
        }

        /// <summary>The same signed frame as the one last accepted (§2: neither news nor a replay).</summary>
        public bool IsRepeat(byte epoch, uint counter)
        {
            return epoch == Epoch && counter == Counter;
        }

        /// <summary>Moves the floor to a fresh (epoch, counter); false and no change otherwise.</summary>
        public bool TryAccept(byte epoch, uint counter)
        {
            if (Check(epoch, counter) != FrameError.None)
            {
                return false;
            }

            Epoch = epoch;
            Counter = counter;
            return true;
        }

        /// <summary>The record flash keeps for (<paramref name="epoch"/>, <paramref name="counter"/>): epoch (1) ‖ counter (4).</summary>
        public static void WriteRecord(byte epoch, uint counter, byte[] buffer, int offset)
        {
            buffer[offset] = epoch;
            BigEndian.WriteUInt32(buffer, offset + 1, counter);
        }

        /// <summary>Reads a record; anything not exactly 5 bytes reads as epoch 0, counter 0 (flash that never held one).</summary>
        public static EpochCounterFloor Read(byte[] buffer, int offset, int count)
        {
            if (buffer == null || count != RecordLength || offset < 0 || offset > buffer.Length - count)
            {
                return new EpochCounterFloor(0, 0);
            }

            return new EpochCounterFloor(buffer[offset], BigEndian.ReadUInt32(buffer, offset + 1));
        }
    }
}
