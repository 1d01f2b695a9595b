using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// A receiver's replay floor for one sender, kept in flash across power cuts (protocol/README.md §2, "Counter floors
    /// across power loss"). Flash holds a floor at or above every counter accepted, written before the frame is acted
    /// on, so a recorded frame can never be replayed after a reboot. With blocks above 1 the floor is written ahead, to
    /// the end of the accepted counter's <see cref="CounterBlock"/>: one flash write per block, not per frame. After a
    /// reboot the floor starts at what flash holds, so the rest of that block is refused and the sender moves on.
    /// </summary>
    public sealed class CounterFloor
    {
        private readonly IDeviceStorage _storage;
        private readonly string _recordName;
        private readonly uint _blockSize;
        private readonly byte[] _image = new byte[4];
        private uint _stored;

        /// <param name="blockSize">Counters per flash write; 1 writes every accepted counter.</param>
        public CounterFloor(IDeviceStorage storage, string recordName, uint blockSize)
        {
            _storage = storage;
            _recordName = recordName;
            _blockSize = blockSize < 1 ? 1 : blockSize;

            // An entry that does not parse is ignored, like every flash entry: the floor starts at 0.
            byte[]? image = storage.Read(recordName);
            _stored = image != null && image.Length == 4 ? BigEndian.ReadUInt32(image, 0) : 0;
            AtBoot = _stored;
            Highest = _stored;
        }

        /// <summary>The floor flash held at power-up: nothing at or below it may be acted on again.</summary>
        public uint AtBoot { get; }

        /// <summary>The highest counter accepted (after a reboot: the floor in flash).</summary>
        public uint Highest { get; private set; }

        /// <summary>What flash holds now: at or above every counter accepted.</summary>
        public uint Stored
        {
            get { return _stored; }
        }

        /// <summary>False after the floor could not be written to flash (retried with the next counter).</summary>
        public bool StorageHealthy { get; private set; } = true;

        /// <summary>The last accepted counter again: the sender still advertising the frame it signed. Neither news nor a replay.</summary>
        public bool IsRepeat(uint counter)
        {
            return counter == Highest && counter != 0;
        }

        /// <summary>Accepts a counter above <see cref="Highest"/>, having first covered it in flash; false (no change) otherwise.</summary>
        public bool TryAccept(uint counter)
        {
            if (counter <= Highest)
            {
                return false;
            }

            Cover(counter);
            Highest = counter;
            return true;
        }

        /// <summary>Makes the floor in flash at least <paramref name="counter"/> (written ahead to its block's end) before the caller acts.</summary>
        public void Cover(uint counter)
        {
            if (counter <= _stored)
            {
                return;
            }

            uint until = CounterBlock.End(counter, _blockSize);
            BigEndian.WriteUInt32(_image, 0, until);

            // A failed write still lets the frame act (an ack or a command matters more than the risk of one replay on
            // broken flash); the heartbeat or the light's state reports the fault.
            StorageHealthy = _storage.Write(_recordName, _image);
            if (StorageHealthy)
            {
                _stored = until;
            }
        }
    }
}
