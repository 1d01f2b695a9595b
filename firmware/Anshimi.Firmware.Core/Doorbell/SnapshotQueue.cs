using System.Collections;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Doorbell
{
    /// <summary>
    /// Snapshots awaiting the gateway's stage-4 ack, oldest first, kept in flash so a reboot or a dropped
    /// connection loses none. Each image has its own entry <c>snap{slot}</c>, written before the index
    /// <c>snapshots</c> names it, so a power cut in between leaves only an unused slot. Bounded by count
    /// and bytes: when full, the oldest ring snapshot goes first, then the oldest alarm snapshot.
    /// Index entry: version · count (1) · count × [id (4) · code (2) · qualifier (1) · zone (2) · slot (1) · length (4) · SHA-256 (32)].
    /// </summary>
    public sealed class SnapshotQueue
    {
        public const string IndexName = "snapshots";
        public const string SlotPrefix = "snap";

        private const byte RecordVersion = 1;
        private const int HeaderLength = 2;
        private const int EntryLength = 14 + Sha256.HashLength;
        private static readonly byte[] Empty = new byte[0];

        private readonly IDeviceStorage _storage;
        private readonly int _maxCount;
        private readonly int _maxBytes;
        private readonly ArrayList _pending = new ArrayList();
        private readonly Sha256 _sha = new Sha256();

        public SnapshotQueue(IDeviceStorage storage, int maxCount, int maxBytes)
        {
            _storage = storage;
            _maxCount = maxCount < 1 ? 1 : maxCount;
            _maxBytes = maxBytes;
            Load();
        }

        public int Count
        {
            get { return _pending.Count; }
        }

        public PendingSnapshot this[int index]
        {
            get { return (PendingSnapshot)_pending[index]!; }
        }

        /// <summary>Snapshots dropped to make room (oldest ring pictures first), or refused because they could not be stored.</summary>
        public int Dropped { get; private set; }

        public bool StorageHealthy { get; private set; } = true;

        public int IndexOf(uint snapshotId)
        {
            for (int i = 0; i < _pending.Count; i++)
            {
                if (this[i].SnapshotId == snapshotId)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>Stores the image for the event with counter <paramref name="snapshotId"/>; false when it could not be kept.</summary>
        public bool Add(uint snapshotId, ushort eventCode, byte qualifier, ushort zone, byte[] image)
        {
            if (image.Length == 0 || image.Length > _maxBytes)
            {
                Dropped++;
                return false;
            }

            while (_pending.Count >= _maxCount || TotalBytes() + image.Length > _maxBytes)
            {
                if (!DropVictim())
                {
                    Dropped++;
                    return false;
                }
            }

            var hash = new byte[Sha256.HashLength];
            _sha.Reset();
            _sha.Update(image, 0, image.Length);
            _sha.Final(hash, 0);

            // A refused write means the flash is full: make room and try again while there is anything to drop.
            int slot = FreeSlot();
            while (!_storage.Write(SlotPrefix + slot.ToString(), image))
            {
                StorageHealthy = false;
                if (!DropVictim())
                {
                    Dropped++;
                    return false;
                }

                slot = FreeSlot();
            }

            _pending.Add(new PendingSnapshot(snapshotId, eventCode, qualifier, zone, slot, image.Length, hash));
            SaveIndex();
            return true;
        }

        /// <summary>The image bytes, or null when its entry is gone or no longer matches (the snapshot is then dropped).</summary>
        public byte[]? ReadImage(PendingSnapshot snapshot)
        {
            byte[]? image = _storage.Read(SlotPrefix + snapshot.Slot.ToString());
            if (image != null && image.Length == snapshot.Length)
            {
                return image;
            }

            Remove(snapshot.SnapshotId);
            Dropped++;
            return null;
        }

        /// <summary>The gateway has the snapshot: forget it and free its slot. False when it was not pending.</summary>
        public bool Remove(uint snapshotId)
        {
            int index = IndexOf(snapshotId);
            if (index < 0)
            {
                return false;
            }

            int slot = this[index].Slot;
            _pending.RemoveAt(index);
            SaveIndex();

            // Freeing the slot after the index no longer names it; if this write is lost the slot is merely reused later.
            _storage.Write(SlotPrefix + slot.ToString(), Empty);
            return true;
        }

        private bool DropVictim()
        {
            int victim = -1;
            for (int i = 0; i < _pending.Count; i++)
            {
                if (!this[i].IsAlarm)
                {
                    victim = i;
                    break;
                }
            }

            if (victim < 0 && _pending.Count > 0)
            {
                victim = 0;
            }

            if (victim < 0)
            {
                return false;
            }

            Remove(this[victim].SnapshotId);
            Dropped++;
            return true;
        }

        private int TotalBytes()
        {
            int total = 0;
            for (int i = 0; i < _pending.Count; i++)
            {
                total += this[i].Length;
            }

            return total;
        }

        private int FreeSlot()
        {
            for (int slot = 0; ; slot++)
            {
                bool used = false;
                for (int i = 0; i < _pending.Count; i++)
                {
                    if (this[i].Slot == slot)
                    {
                        used = true;
                        break;
                    }
                }

                if (!used)
                {
                    return slot;
                }
            }
        }

        private void SaveIndex()
        {
            var image = new byte[HeaderLength + (_pending.Count * EntryLength)];
            image[0] = RecordVersion;
            image[1] = (byte)_pending.Count;
            int offset = HeaderLength;
            for (int i = 0; i < _pending.Count; i++)
            {
                PendingSnapshot s = this[i];
                BigEndian.WriteUInt32(image, offset, s.SnapshotId);
                BigEndian.WriteUInt16(image, offset + 4, s.EventCode);
                image[offset + 6] = s.Qualifier;
                BigEndian.WriteUInt16(image, offset + 7, s.Zone);
                image[offset + 9] = (byte)s.Slot;
                BigEndian.WriteUInt32(image, offset + 10, (uint)s.Length);
                System.Array.Copy(s.Sha256, 0, image, offset + 14, Sha256.HashLength);
                offset += EntryLength;
            }

            StorageHealthy = _storage.Write(IndexName, image);
        }

        private void Load()
        {
            byte[]? image = _storage.Read(IndexName);

            // An index that does not parse is ignored: the device starts with no pending snapshots.
            if (image == null || image.Length < HeaderLength || image[0] != RecordVersion || image.Length != HeaderLength + (image[1] * EntryLength))
            {
                return;
            }

            int offset = HeaderLength;
            for (int i = 0; i < image[1]; i++)
            {
                uint length = BigEndian.ReadUInt32(image, offset + 10);
                if (length > 0 && length <= (uint)_maxBytes)
                {
                    var hash = new byte[Sha256.HashLength];
                    System.Array.Copy(image, offset + 14, hash, 0, Sha256.HashLength);
                    _pending.Add(new PendingSnapshot(
                        BigEndian.ReadUInt32(image, offset),
                        BigEndian.ReadUInt16(image, offset + 4),
                        image[offset + 6],
                        BigEndian.ReadUInt16(image, offset + 7),
                        image[offset + 9],
                        (int)length,
                        hash));
                }

                offset += EntryLength;
            }
        }
    }
}
