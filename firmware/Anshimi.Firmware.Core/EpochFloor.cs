using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// A version-2 receiver's floor for one sender (protocol/README.md §10, re-key): the key epoch it moved to and the
    /// highest counter accepted in it, kept in flash as one 5-byte record written before the frame acts. A power cut
    /// during the write leaves the old pair or the new one (the flash adapter replaces an entry atomically), so a frame
    /// recorded before a re-key never acts again, whatever the cut. With blocks above 1 the counter is written ahead to the
    /// end of its <see cref="CounterBlock"/>, as a light's command floor is (protocol/README.md §2): one write per block, and
    /// after a reboot the rest of that block is refused.
    /// </summary>
    public sealed class EpochFloor
    {
        private readonly IDeviceStorage _storage;
        private readonly string _recordName;
        private readonly byte[] _image = new byte[EpochCounterFloor.RecordLength];
        private readonly EpochCounterFloor _floor;
        private readonly uint _blockSize;
        private byte _storedEpoch;
        private uint _stored;

        public EpochFloor(IDeviceStorage storage, string recordName)
            : this(storage, recordName, 1)
        {
        }

        /// <param name="blockSize">Counters per flash write; 1 writes every accepted counter.</param>
        public EpochFloor(IDeviceStorage storage, string recordName, uint blockSize)
        {
            _storage = storage;
            _recordName = recordName;
            _blockSize = blockSize < 1 ? 1 : blockSize;
            byte[]? image = storage.Read(recordName);
            _floor = EpochCounterFloor.Read(image!, 0, image == null ? 0 : image.Length);
            _storedEpoch = _floor.Epoch;
            _stored = _floor.Counter;
        }

        public byte Epoch
        {
            get { return _floor.Epoch; }
        }

        public uint Counter
        {
            get { return _floor.Counter; }
        }

        /// <summary>False after the record could not be written (the frame still acts; the heartbeat reports the fault).</summary>
        public bool StorageHealthy { get; private set; } = true;

        /// <summary>The last accepted frame again: the sender still advertising it. Neither news nor a replay.</summary>
        public bool IsRepeat(byte epoch, uint counter)
        {
            return counter != 0 && _floor.IsRepeat(epoch, counter);
        }

        /// <summary>Accepts a fresh (epoch, counter), having first written it to flash; false (no change) otherwise.</summary>
        public bool TryAccept(byte epoch, uint counter)
        {
            if (_floor.Check(epoch, counter) != FrameError.None)
            {
                return false;
            }

            if (epoch > _storedEpoch || counter > _stored)
            {
                uint until = CounterBlock.End(counter, _blockSize);
                EpochCounterFloor.WriteRecord(epoch, until, _image, 0);
                StorageHealthy = _storage.Write(_recordName, _image);
                if (StorageHealthy)
                {
                    _storedEpoch = epoch;
                    _stored = until;
                }
            }

            _floor.TryAccept(epoch, counter);
            return true;
        }
    }
}
