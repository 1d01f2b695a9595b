using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// Hands out uplink frame counters that are never reused, even across power cuts. Counters are
    /// reserved in blocks so flash is written once per block, not once per frame; a reboot skips
    /// the rest of the block it was in.
    /// </summary>
    public sealed class FrameCounter
    {
        public const string RecordName = "counter";

        private readonly IDeviceStorage _storage;
        private readonly uint _blockSize;
        private uint _next;
        private uint _reservedUntil;

        public FrameCounter(IDeviceStorage storage, int blockSize)
        {
            _storage = storage;
            _blockSize = blockSize < 1 ? 1u : (uint)blockSize;
            byte[]? image = storage.Read(RecordName);
            _reservedUntil = image != null && image.Length == 4 ? BigEndian.ReadUInt32(image, 0) : 0;

            // Counter 0 is never sent, so a fresh device starts at 1.
            _next = _reservedUntil == 0 ? 1 : _reservedUntil;
        }

        /// <summary>The counter the next frame will get.</summary>
        public uint Peek
        {
            get { return _next; }
        }

        /// <summary>False once the last reservation could not be written (the heartbeat reports it).</summary>
        public bool StorageHealthy { get; private set; } = true;

        /// <summary>Takes the next counter, first persisting a new block when the current one is used up.</summary>
        public uint Next()
        {
            if (_next >= _reservedUntil)
            {
                uint until = _next + _blockSize;
                var image = new byte[4];
                BigEndian.WriteUInt32(image, 0, until);

                // A failed write still yields a counter (sending an alarm matters more than the risk
                // of reuse after a reboot on broken flash) and is retried with the next frame.
                StorageHealthy = _storage.Write(RecordName, image);
                if (StorageHealthy)
                {
                    _reservedUntil = until;
                }
            }

            return _next++;
        }
    }
}
