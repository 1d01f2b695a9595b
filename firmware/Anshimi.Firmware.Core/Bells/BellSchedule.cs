using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// When the periodic test (602) and a BLE-only bell's check-in are next due, kept across reboots and deep
    /// sleep as the wall-clock time each was last done. A wall clock behind the stored time has not been set
    /// since power came back (or the cells were changed): the schedule then starts afresh from now.
    /// It also keeps how long a battery bell last slept between unanswered alarm bursts, so the retries of
    /// a bell out of every gateway's reach back off across wakes instead of starting over each time.
    /// Record: version · last test ticks (8) · last check-in ticks (8) · retry sleep ms (4).
    /// </summary>
    public sealed class BellSchedule
    {
        public const string RecordName = "schedule";

        private const byte RecordVersion = 2;
        private const int RecordLength = 21;

        private readonly IDeviceStorage _storage;
        private readonly IClock _clock;
        private readonly long _testIntervalMs;
        private readonly long _checkInIntervalMs;
        private long _lastTestTicks;
        private long _lastCheckInTicks;

        public BellSchedule(IDeviceStorage storage, IClock clock, long testIntervalMs, long checkInIntervalMs)
        {
            _storage = storage;
            _clock = clock;
            _testIntervalMs = testIntervalMs;
            _checkInIntervalMs = checkInIntervalMs;
            byte[]? image = storage.Read(RecordName);
            if (image != null && image.Length == RecordLength && image[0] == RecordVersion)
            {
                _lastTestTicks = ReadTicks(image, 1);
                _lastCheckInTicks = ReadTicks(image, 9);
                RetrySleepMs = BigEndian.ReadUInt32(image, 17);
            }

            long nowTicks = clock.UtcNow.Ticks;
            long now = clock.MonotonicMs;
            bool anchored = false;
            if (_lastTestTicks == 0 || nowTicks < _lastTestTicks)
            {
                _lastTestTicks = nowTicks;
                anchored = true;
            }

            if (_lastCheckInTicks == 0 || nowTicks < _lastCheckInTicks)
            {
                _lastCheckInTicks = nowTicks;
                anchored = true;
            }

            TestDueMs = now + Remaining(_testIntervalMs, nowTicks - _lastTestTicks);
            CheckInDueMs = now + Remaining(_checkInIntervalMs, nowTicks - _lastCheckInTicks);
            if (anchored)
            {
                Save();
            }
        }

        /// <summary>Monotonic time the next periodic test is due.</summary>
        public long TestDueMs { get; private set; }

        /// <summary>Monotonic time the next check-in is due.</summary>
        public long CheckInDueMs { get; private set; }

        public bool StorageHealthy { get; private set; } = true;

        /// <summary>The last sleep between unanswered bursts; 0 when there was none since the last ack or new alarm.</summary>
        public uint RetrySleepMs { get; private set; }

        public void SetRetrySleep(uint ms)
        {
            if (ms != RetrySleepMs)
            {
                RetrySleepMs = ms;
                Save();
            }
        }

        public void MarkTest()
        {
            _lastTestTicks = _clock.UtcNow.Ticks;
            TestDueMs = _clock.MonotonicMs + _testIntervalMs;
            Save();
        }

        public void MarkCheckIn()
        {
            _lastCheckInTicks = _clock.UtcNow.Ticks;
            CheckInDueMs = _clock.MonotonicMs + _checkInIntervalMs;
            Save();
        }

        private static long Remaining(long intervalMs, long elapsedTicks)
        {
            long elapsedMs = elapsedTicks / System.TimeSpan.TicksPerMillisecond;
            return elapsedMs >= intervalMs ? 0 : intervalMs - elapsedMs;
        }

        private static long ReadTicks(byte[] image, int offset)
        {
            return ((long)BigEndian.ReadUInt32(image, offset) << 32) | BigEndian.ReadUInt32(image, offset + 4);
        }

        private static void WriteTicks(byte[] image, int offset, long ticks)
        {
            BigEndian.WriteUInt32(image, offset, (uint)(ticks >> 32));
            BigEndian.WriteUInt32(image, offset + 4, (uint)(ticks & 0xFFFFFFFF));
        }

        private void Save()
        {
            var image = new byte[RecordLength];
            image[0] = RecordVersion;
            WriteTicks(image, 1, _lastTestTicks);
            WriteTicks(image, 9, _lastCheckInTicks);
            BigEndian.WriteUInt32(image, 17, RetrySleepMs);
            StorageHealthy = _storage.Write(RecordName, image);
        }
    }
}
