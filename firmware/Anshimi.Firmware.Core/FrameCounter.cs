using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// Hands out uplink frame counters that are never reused within a key epoch, even across power cuts, and moves the
    /// device's uplinks to a new key epoch (protocol/README.md §10, re-key). Counters are reserved in blocks so flash is
    /// written once per block, not once per frame; a reboot skips the rest of the block it was in. Epoch and reservation
    /// are one record (epoch ‖ reserved-until), replaced atomically, so a power cut leaves the old pair or the new one:
    /// the device never seals a new epoch's frame with a counter it may reuse, nor falls back to an epoch it left.
    /// </summary>
    public sealed class FrameCounter
    {
        public const string RecordName = "counter";

        /// <summary>Where a device's counter wraps (§10): it moves to the next epoch and starts again at 1.</summary>
        public const uint DefaultWrapAt = 0xFFFFFF00;

        /// <summary>The last key epoch: a device there must be claimed again (a new frame key) before it wraps.</summary>
        public const byte LastEpoch = 255;

        private const int EpochRecordLength = 5;

        private readonly IDeviceStorage _storage;
        private readonly uint _blockSize;
        private readonly uint _wrapAt;
        private readonly byte[] _image = new byte[EpochRecordLength];
        private uint _next;
        private uint _reservedUntil;

        public FrameCounter(IDeviceStorage storage, int blockSize)
            : this(storage, blockSize, DefaultWrapAt)
        {
        }

        /// <param name="wrapAt">The counter at which the device moves to the next epoch once nothing awaits an ack.</param>
        public FrameCounter(IDeviceStorage storage, int blockSize, uint wrapAt)
        {
            _storage = storage;
            _blockSize = blockSize < 1 ? 1u : (uint)blockSize;
            _wrapAt = wrapAt;

            // A 4-byte record is a device from before key epochs: epoch 0. Anything else that does not parse reads as new.
            byte[]? image = storage.Read(RecordName);
            if (image != null && image.Length == EpochRecordLength)
            {
                Epoch = image[0];
                _reservedUntil = BigEndian.ReadUInt32(image, 1);
            }
            else if (image != null && image.Length == 4)
            {
                _reservedUntil = BigEndian.ReadUInt32(image, 0);
            }

            // Counter 0 is never sent, so a fresh device (or epoch) starts at 1.
            _next = _reservedUntil == 0 ? 1 : _reservedUntil;
        }

        /// <summary>The key epoch the device's uplinks are sealed in.</summary>
        public byte Epoch { get; private set; }

        /// <summary>The counter the next frame will get.</summary>
        public uint Peek
        {
            get { return _next; }
        }

        /// <summary>The counter has reached the wrap: the device moves to the next epoch as soon as nothing awaits an ack.</summary>
        public bool WrapDue
        {
            get { return _next >= _wrapAt && Epoch < LastEpoch; }
        }

        /// <summary>False once the last reservation could not be written (the heartbeat reports it).</summary>
        public bool StorageHealthy { get; private set; } = true;

        /// <summary>Takes the next counter, first persisting a new block when the current one is used up.</summary>
        public uint Next()
        {
            if (_next >= _reservedUntil)
            {
                uint until = _next + _blockSize;

                // A failed write still yields a counter (sending an alarm matters more than the risk
                // of reuse after a reboot on broken flash) and is retried with the next frame.
                if (Persist(Epoch, until))
                {
                    _reservedUntil = until;
                }
            }

            return _next++;
        }

        /// <summary>
        /// Moves the uplinks to a new key epoch when one is due and <paramref name="idle"/> (no alarm awaits its ack): at the
        /// wrap to the next epoch (or <paramref name="requested"/>, if higher), starting again at counter 1; on a re-key to
        /// <paramref name="requested"/>, counting on. The new record is in flash before this returns true, so no frame is
        /// sealed under the new epoch before a power cut could take it back. False, and no change, when nothing is due, the
        /// device is busy, the epoch is the last, or the write failed (tried again on the next call).
        /// </summary>
        public bool MoveEpochIfDue(byte requested, bool idle)
        {
            bool wrap = WrapDue;
            if (!idle || Epoch == LastEpoch || (!wrap && requested <= Epoch))
            {
                return false;
            }

            byte epoch = requested > Epoch ? requested : (byte)(Epoch + 1);
            uint next = wrap ? 1 : _next;
            uint until = wrap ? 1 + _blockSize : _reservedUntil;
            if (!Persist(epoch, until))
            {
                return false;
            }

            Epoch = epoch;
            _next = next;
            _reservedUntil = until;
            return true;
        }

        private bool Persist(byte epoch, uint reservedUntil)
        {
            EpochCounterFloor.WriteRecord(epoch, reservedUntil, _image, 0);
            StorageHealthy = _storage.Write(RecordName, _image);
            return StorageHealthy;
        }
    }
}
