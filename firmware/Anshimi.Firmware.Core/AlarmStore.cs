using System.Collections;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>An alarm the gateway has not confirmed yet.</summary>
    public sealed class PendingAlarm
    {
        public PendingAlarm(uint counter, ushort eventCode, byte qualifier, ushort zone)
        {
            Counter = counter;
            EventCode = eventCode;
            Qualifier = qualifier;
            Zone = zone;
        }

        public uint Counter { get; }

        public ushort EventCode { get; }

        public byte Qualifier { get; }

        public ushort Zone { get; }
    }

    /// <summary>
    /// The alarms awaiting gateway receipt, oldest first, plus how far the newest alarm the resident may
    /// see has got (for the LED), kept in one flash entry so both change together. Silent alarms and
    /// trouble reports queue like any alarm but leave the LED's alarm alone.
    /// Record: version · newest counter (4) · newest stage (1) · count (1) · count × [counter (4) · code (2) · qualifier (1) · zone (2)].
    /// </summary>
    public sealed class AlarmStore
    {
        public const string RecordName = "alarms";

        private const byte RecordVersion = 1;
        private const int HeaderLength = 7;
        private const int EntryLength = 9;

        private readonly IDeviceStorage _storage;
        private readonly ArrayList _pending = new ArrayList();

        public AlarmStore(IDeviceStorage storage)
        {
            _storage = storage;
            Load();
        }

        public int Count
        {
            get { return _pending.Count; }
        }

        /// <summary>Counter of the newest shown alarm ever raised here; 0 when none.</summary>
        public uint NewestCounter { get; private set; }

        /// <summary>The newest alarm's latest ack stage; 0 while the gateway has not confirmed it.</summary>
        public AckStage NewestStage { get; private set; }

        /// <summary>False once a save could not be written (the heartbeat reports it).</summary>
        public bool StorageHealthy { get; private set; } = true;

        public PendingAlarm this[int index]
        {
            get { return (PendingAlarm)_pending[index]!; }
        }

        public int IndexOf(uint counter)
        {
            for (int i = 0; i < _pending.Count; i++)
            {
                if (((PendingAlarm)_pending[i]!).Counter == counter)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>Adds a shown alarm as the newest and persists it before anyone sends it.</summary>
        public void Add(PendingAlarm alarm)
        {
            Add(alarm, true);
        }

        /// <summary>Queues the alarm and persists it before anyone sends it; a shown one becomes the LED's alarm.</summary>
        public void Add(PendingAlarm alarm, bool shown)
        {
            _pending.Add(alarm);
            if (shown)
            {
                NewestCounter = alarm.Counter;
                NewestStage = 0;
            }

            Save();
        }

        /// <summary>
        /// Records an ack stage: any stage means the gateway has the alarm, so it leaves the queue.
        /// Returns true when anything changed.
        /// </summary>
        public bool Acknowledge(uint counter, AckStage stage)
        {
            bool changed = false;
            int index = IndexOf(counter);
            if (index >= 0)
            {
                _pending.RemoveAt(index);
                changed = true;
            }

            // Stages only move forward: a late "received" must not undo "help is on the way".
            if (counter == NewestCounter && stage > NewestStage)
            {
                NewestStage = stage;
                changed = true;
            }

            if (changed)
            {
                Save();
            }

            return changed;
        }

        private void Save()
        {
            var image = new byte[HeaderLength + (_pending.Count * EntryLength)];
            image[0] = RecordVersion;
            BigEndian.WriteUInt32(image, 1, NewestCounter);
            image[5] = (byte)NewestStage;
            image[6] = (byte)_pending.Count;
            int offset = HeaderLength;
            for (int i = 0; i < _pending.Count; i++)
            {
                var alarm = (PendingAlarm)_pending[i]!;
                BigEndian.WriteUInt32(image, offset, alarm.Counter);
                BigEndian.WriteUInt16(image, offset + 4, alarm.EventCode);
                image[offset + 6] = alarm.Qualifier;
                BigEndian.WriteUInt16(image, offset + 7, alarm.Zone);
                offset += EntryLength;
            }

            StorageHealthy = _storage.Write(RecordName, image);
        }

        private void Load()
        {
            byte[]? image = _storage.Read(RecordName);

            // An entry that does not parse is ignored rather than trusted: the device starts empty
            // instead of sending garbage, and the next save replaces it.
            if (image == null || image.Length < HeaderLength || image[0] != RecordVersion)
            {
                return;
            }

            int count = image[6];
            if (image.Length != HeaderLength + (count * EntryLength))
            {
                return;
            }

            NewestCounter = BigEndian.ReadUInt32(image, 1);
            NewestStage = image[5] <= (byte)AckStage.Resolved ? (AckStage)image[5] : 0;
            int offset = HeaderLength;
            for (int i = 0; i < count; i++)
            {
                _pending.Add(new PendingAlarm(
                    BigEndian.ReadUInt32(image, offset),
                    BigEndian.ReadUInt16(image, offset + 4),
                    image[offset + 6],
                    BigEndian.ReadUInt16(image, offset + 7)));
                offset += EntryLength;
            }
        }
    }
}
