using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// Watches the lid tamper switch, mains sense and battery voltage and reports each change of state once
    /// as a Contact ID event: 137 tamper, 301 AC loss, 302 (mains-backed) or 384 (battery bell) low
    /// battery, qualifier 1 when it starts and 3 when it clears. Contacts must hold a level for their
    /// debounce time; the battery must read low (or recovered, above a higher threshold) on several
    /// samples in a row. What has been reported is kept in flash, so a reboot neither repeats a report nor
    /// misses a restore that happened while the power was off.
    /// Record: version · reported flags (bit 0 tamper, bit 1 mains lost, bit 2 battery low).
    /// </summary>
    public sealed class TroubleMonitor
    {
        public const string RecordName = "troubles";

        /// <summary>
        /// Full scale of the 12-bit counts the battery thresholds are given in (<see cref="BellConfig.BatteryEmptyRaw"/>,
        /// <see cref="BellConfig.BatteryFullRaw"/>): a reading's fraction is turned back into such a count.
        /// </summary>
        public const int BatteryFullScaleRaw = 4095;

        private const byte RecordVersion = 1;
        private const byte TamperBit = 0x01;
        private const byte MainsLostBit = 0x02;
        private const byte BatteryLowBit = 0x04;

        private readonly BellConfig _config;
        private readonly IDeviceStorage _storage;
        private readonly IDigitalInput? _tamper;
        private readonly IDigitalInput? _mains;
        private readonly IAnalogInput? _battery;
        private readonly BellEventSink _sink;
        private byte _reported;

        private bool _tamperLevel;
        private long _tamperSinceMs;
        private bool _mainsLostLevel;
        private long _mainsSinceMs;
        private long _nextBatterySampleMs;
        private int _lowSamples;
        private int _okSamples;

        public TroubleMonitor(BellConfig config, long now, IDeviceStorage storage, IDigitalInput? tamper, IDigitalInput? mains, IAnalogInput? battery, BellEventSink sink)
        {
            _config = config;
            _storage = storage;
            _tamper = tamper;
            _mains = mains;
            _battery = battery;
            _sink = sink;
            byte[]? image = storage.Read(RecordName);
            if (image != null && image.Length == 2 && image[0] == RecordVersion)
            {
                _reported = (byte)(image[1] & (TamperBit | MainsLostBit | BatteryLowBit));
            }

            // The level at start counts from now: it must still hold a debounce time to be believed.
            _tamperLevel = tamper != null && tamper.IsActive;
            _tamperSinceMs = now;
            _mainsLostLevel = mains != null && !mains.IsActive;
            _mainsSinceMs = now;
            _nextBatterySampleMs = now;
            BatteryPercent = -1;
        }

        public bool TamperOpen
        {
            get { return (_reported & TamperBit) != 0; }
        }

        public bool MainsLost
        {
            get { return (_reported & MainsLostBit) != 0; }
        }

        public bool BatteryLow
        {
            get { return (_reported & BatteryLowBit) != 0; }
        }

        /// <summary>The latest battery reading in percent, or -1 without a battery input.</summary>
        public int BatteryPercent { get; private set; }

        /// <summary>No contact is waiting out its debounce time: a sleeping device would lose nothing.</summary>
        public bool Settled
        {
            get { return _tamperLevel == TamperOpen && _mainsLostLevel == MainsLost; }
        }

        public bool StorageHealthy { get; private set; } = true;

        public void Poll(long now)
        {
            if (_tamper != null)
            {
                bool level = _tamper.IsActive;
                if (level != _tamperLevel)
                {
                    _tamperLevel = level;
                    _tamperSinceMs = now;
                }

                if (level != TamperOpen && now - _tamperSinceMs >= _config.TamperDebounceMs)
                {
                    Report(TamperBit, level, ContactIdCode.Tamper);
                }
            }

            if (_mains != null)
            {
                bool lost = !_mains.IsActive;
                if (lost != _mainsLostLevel)
                {
                    _mainsLostLevel = lost;
                    _mainsSinceMs = now;
                }

                if (lost != MainsLost && now - _mainsSinceMs >= _config.MainsDebounceMs)
                {
                    Report(MainsLostBit, lost, ContactIdCode.AcLoss);
                }
            }

            if (_battery != null && now >= _nextBatterySampleMs)
            {
                _nextBatterySampleMs = now + _config.BatterySampleIntervalMs;
                SampleBattery();
            }
        }

        private void SampleBattery()
        {
            int raw = (int)((_battery!.Read() * BatteryFullScaleRaw) + 0.5);
            int percent = Percent(raw, _config.BatteryEmptyRaw, _config.BatteryFullRaw);
            BatteryPercent = percent;

            // Hysteresis: low at or below one threshold, recovered only at or above a higher one, each on
            // several readings in a row, so a reading that sags under a radio burst raises nothing.
            if (percent <= _config.LowBatteryPercent)
            {
                _lowSamples++;
                _okSamples = 0;
            }
            else if (percent >= _config.BatteryRestorePercent)
            {
                _okSamples++;
                _lowSamples = 0;
            }
            else
            {
                _lowSamples = 0;
                _okSamples = 0;
            }

            if (!BatteryLow && _lowSamples >= _config.BatteryConfirmSamples)
            {
                Report(BatteryLowBit, true, _config.LowBatteryCode);
            }
            else if (BatteryLow && _okSamples >= _config.BatteryConfirmSamples)
            {
                Report(BatteryLowBit, false, _config.LowBatteryCode);
            }
        }

        /// <summary>Battery percent from a raw reading, linear between the empty and full readings, clamped to 0–100.</summary>
        public static int Percent(int raw, int emptyRaw, int fullRaw)
        {
            if (fullRaw <= emptyRaw || raw <= emptyRaw)
            {
                return 0;
            }

            if (raw >= fullRaw)
            {
                return 100;
            }

            return (int)(((long)(raw - emptyRaw) * 100) / (fullRaw - emptyRaw));
        }

        private void Report(byte bit, bool active, ushort code)
        {
            // Not marked as reported until the event is queued; a full queue is retried on the next poll.
            if (!_sink(code, active ? ContactIdQualifier.NewEvent : ContactIdQualifier.Restore, _config.SystemZone))
            {
                return;
            }

            _reported = active ? (byte)(_reported | bit) : (byte)(_reported & ~bit);
            StorageHealthy = _storage.Write(RecordName, new byte[] { RecordVersion, _reported });
        }
    }
}
