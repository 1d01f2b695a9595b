using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// The streetlight controller's device logic (스마트보안등 IoT beacon blinker), driven by <see cref="Tick"/> from the
    /// device loop every 20–50 ms. It dims the lamp along its dusk-to-dawn schedule (ambient sensor with hysteresis,
    /// sunset and sunrise at its coordinates), brightens and blinks gently for an escorted walker in range
    /// (귀가모니터링), blinks continuously in an emergency (긴급신고), watches the lamp current, advertises a signed
    /// status beacon, and obeys signed commands from its gateway and the app's escort advertisements sealed for its area.
    /// Priority: emergency over escort over schedule. Advertisements arrive on the radio's thread and are only
    /// queued there; everything else runs on the thread that calls Tick, and a steady-state tick allocates nothing.
    /// The watchdog is fed at the end of a tick that ran through, so a loop that stops or keeps failing ends in a
    /// reset, and a reset leaves the lamp at full light (no PWM and a released relay mean full light).
    /// </summary>
    public sealed class StreetlightController : Ota.IUpdateHold
    {
        /// <summary>
        /// Flash entry: the command floor, at or above every command counter accepted from the gateway, written ahead to
        /// the end of its <see cref="CounterBlock.LightCommand"/> block (protocol/README.md §2).
        /// </summary>
        public const string CommandRecordName = "command";

        /// <summary>
        /// Flash entry: the version-2 command floor, key epoch and counter (protocol/README.md §10), written ahead to the end
        /// of its <see cref="CounterBlock.LightCommand"/> block like version 1's.
        /// </summary>
        public const string CommandEpochRecordName = "command-epoch";

        /// <summary>Flash entry: the escort floor, at or above every escort minute accepted, written ahead in blocks of minutes.</summary>
        public const string EscortRecordName = "escort";

        /// <summary>Flash entry: what the gateway asked for (emergency, escort) and for how long, restored after a reboot.</summary>
        public const string GatewayModeRecordName = "lightmode";

        /// <summary>UTC before 2024 means the clock was never set: no solar schedule, no escort time check.</summary>
        private const long MinValidUtcTicks = 638396640000000000L;

        private const long UnixEpochTicks = 621355968000000000L;

        private const int SolarRecomputeMs = 30000;

        /// <summary>Below this level a lamp may legitimately draw too little current to judge.</summary>
        private const double FaultCheckMinLevel = 10.0;

        private readonly StreetlightConfig _config;
        private readonly IClock _clock;
        private readonly IPwmOutput _dimmer;
        private readonly IDigitalOutput _lampCutoff;
        private readonly IAnalogInput _ambient;
        private readonly IAnalogInput _lampCurrent;
        private readonly IBleRadio _radio;
        private readonly IWatchdog _watchdog;
        private readonly IDeviceStorage _storage;
        private readonly FrameCodec _codec;
        private readonly FrameSeal _seal;
        private readonly FrameCounter _counter;
        private readonly CounterFloor _commandFloor;
        private readonly EpochFloor _commandEpochFloor;
        private readonly CounterFloor _escortFloor;
        private readonly EscortSessionTable _sessions;
        private readonly EscortFrame _escortCodec;
        private readonly AreaEscortKeys _escortKeys;

        private readonly object _queueLock = new object();
        private readonly byte[][] _queued;
        private readonly int[] _queuedLength;
        private readonly int[] _queuedRssi;
        private int _queueHead;
        private int _queueCount;

        private readonly byte[] _scratch = new byte[BleAdvertisement.MaxLegacyDataLength];
        private readonly byte[] _frame = new byte[FrameCodec.MaxFlaglessAdvertisedFrameLength];
        private readonly byte[] _plaintext = new byte[FrameCodecV2.DownlinkPlaintextLength];
        private byte _requestedEpoch;
        private readonly byte[] _keyParts = new byte[EscortKeyRecord.Length];
        private int _keyPartsMask;
        private byte _keyPartsEpoch;
        private readonly byte[] _advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        private readonly byte[] _beaconPayload = new byte[FramePayloads.BeaconPayloadLength];
        private readonly byte[] _modeImage = new byte[6];
        private readonly byte[] _savedModeImage = new byte[6];
        private bool _modeSaved;

        private bool _started;
        private long _lastTickMs;

        // What the gateway set: each mode until a time, emergency also until released.
        private bool _gatewayEmergency;
        private bool _emergencyUntilReleased;
        private long _emergencyUntilMs;
        private bool _gatewayEscort;
        private long _gatewayEscortUntilMs;
        private ushort _emergencyHoldSeconds;
        private ushort _escortHoldSeconds;

        private bool _advertEscort;
        private long _advertEscortUntilMs;

        private bool _ambientDark;
        private bool _ambientChanging;
        private long _ambientChangingSinceMs;
        private bool _solarNight;
        private long _nextSolarMs;

        private double _level;
        private double _writtenDuty = -1;
        private bool _cutoff;
        private bool _cutoffWritten;

        private long _noCurrentSinceMs = -1;
        private long _currentSinceMs = -1;

        private bool _beaconed;
        private long _nextBeaconMs;
        private byte _beaconMode;
        private bool _beaconFault;
        private byte _beaconLevel;

        public StreetlightController(
            StreetlightConfig config,
            IClock clock,
            IPwmOutput dimmer,
            IDigitalOutput lampCutoff,
            IAnalogInput ambient,
            IAnalogInput lampCurrent,
            IBleRadio radio,
            IWatchdog watchdog,
            IDeviceStorage storage,
            IHmacSha256 mac)
        {
            _config = config;
            _clock = clock;
            _dimmer = dimmer;
            _lampCutoff = lampCutoff;
            _ambient = ambient;
            _lampCurrent = lampCurrent;
            _radio = radio;
            _watchdog = watchdog;
            _storage = storage;
            _codec = new FrameCodec(mac);
            _seal = new FrameSeal(mac, config.Key, config.LightId, config.FrameVersion);
            _counter = new FrameCounter(storage, config.CounterBlockSize);
            _seal.MoveUplinkTo(_counter.Epoch);
            _sessions = new EscortSessionTable(config.MaxEscortSessions);
            _escortCodec = new EscortFrame(mac);
            _escortKeys = new AreaEscortKeys(storage, mac);

            _commandFloor = new CounterFloor(storage, CommandRecordName, CounterBlock.LightCommand);
            _commandEpochFloor = new EpochFloor(storage, CommandEpochRecordName, CounterBlock.LightCommand);
            _escortFloor = new CounterFloor(storage, EscortRecordName, config.EscortFloorBlockMinutes < 1 ? 1u : (uint)config.EscortFloorBlockMinutes);

            int queueSize = config.MaxQueuedAdvertisements < 1 ? 1 : config.MaxQueuedAdvertisements;
            _queued = new byte[queueSize][];
            for (int i = 0; i < queueSize; i++)
            {
                _queued[i] = new byte[BleAdvertisement.MaxLegacyDataLength];
            }

            _queuedLength = new int[queueSize];
            _queuedRssi = new int[queueSize];

            // At power-up the dimming pin is not driven yet and the relay is released: the lamp is at full light.
            // Start from there, so whatever comes next is a smooth ramp and never a flash to dark.
            _level = config.FullLevel;
            _ambientDark = ambient.Read() < config.AmbientLightAbove;
            RestoreGatewayMode(clock.MonotonicMs);

            radio.AdvertisementReceived += OnAdvertisement;
            radio.StartScanning();
        }

        /// <summary>The mode the light is in now (<see cref="LightMode"/>).</summary>
        public byte Mode { get; private set; }

        /// <summary>An escort or emergency holds an update: the light never switches slots while it shows one (§11.3).</summary>
        public bool HoldsUpdate
        {
            get { return Mode != LightMode.Schedule; }
        }

        /// <summary>The level the lamp is ramping along, in percent, before any blinking.</summary>
        public double Level
        {
            get { return _level; }
        }

        /// <summary>The level written to the lamp this tick, blinking included, in percent; 0 with the lamp cut off.</summary>
        public double OutputLevel { get; private set; }

        public bool LampCutOff
        {
            get { return _cutoff; }
        }

        /// <summary>Whether the schedule alone would have the lamp on now (night or dark).</summary>
        public bool ScheduledOn { get; private set; }

        public bool LampFault { get; private set; }

        /// <summary>The highest command counter accepted from the gateway (after a reboot: the floor in flash).</summary>
        public uint CommandFloor
        {
            get { return _seal.Version == FrameCodecV2.Version ? _commandEpochFloor.Counter : _commandFloor.Highest; }
        }

        /// <summary>The key epoch the light's beacons are sealed in (version 2).</summary>
        public byte KeyEpoch
        {
            get { return _counter.Epoch; }
        }

        /// <summary>The counter the next beacon will carry.</summary>
        public uint NextCounter
        {
            get { return _counter.Peek; }
        }

        public int BeaconsSent { get; private set; }

        public int CommandsAccepted { get; private set; }

        public int EscortAdvertsAccepted { get; private set; }

        /// <summary>Escort key records assembled from the gateway's 13 parts and installed.</summary>
        public int EscortKeysInstalled { get; private set; }

        /// <summary>The area whose escorts this light takes (from its escort key; 0 before it holds one).</summary>
        public ushort EscortArea
        {
            get { return _escortKeys.Area; }
        }

        /// <summary>The epoch of the area's escort key the light holds as current.</summary>
        public byte EscortEpoch
        {
            get { return _escortKeys.Epoch; }
        }

        /// <summary>Frames for this light (commands) or its area (escort) whose tag did not verify.</summary>
        public int RejectedForged { get; private set; }

        /// <summary>
        /// Authentic frames older than the last accepted: a replayed command or escort advertisement. (The last accepted
        /// command heard again is the gateway repeating it, and changes nothing.)
        /// </summary>
        public int RejectedReplayed { get; private set; }

        /// <summary>Escort advertisements whose minute is too far from the light's clock (or the clock is not set).</summary>
        public int RejectedStale { get; private set; }

        /// <summary>Escort frames for another area (`wrong_area`): signed for elsewhere, or relayed from there.</summary>
        public int RejectedWrongArea { get; private set; }

        /// <summary>
        /// Escort frames of a key epoch the light does not hold, or of the previous epoch after the changeover ended
        /// (`stale_epoch`): recorded before a rotation, or signed with a key taken off a light before it.
        /// </summary>
        public int RejectedStaleEpoch { get; private set; }

        /// <summary>Advertisements with Anshimi's company id that do not hold a well-formed frame.</summary>
        public int RejectedMalformed { get; private set; }

        /// <summary>Advertisements lost because too many arrived between two ticks.</summary>
        public int DroppedAdvertisements { get; private set; }

        public bool StorageHealthy { get; private set; } = true;

        public int RejectedTotal
        {
            get { return RejectedForged + RejectedReplayed + RejectedStale + RejectedWrongArea + RejectedStaleEpoch + RejectedMalformed; }
        }

        public void Tick()
        {
            long now = _clock.MonotonicMs;
            long elapsedMs = _started ? now - _lastTickMs : 0;
            _started = true;
            _lastTickMs = now;

            ProcessAdvertisements(now);
            ExpireModes(now);
            UpdateSchedule(now);
            Mode = _gatewayEmergency ? LightMode.Emergency
                : (_gatewayEscort || _advertEscort) ? LightMode.Escort
                : LightMode.Schedule;
            UpdateOutput(now, elapsedMs);
            MonitorLamp(now);
            BeaconIfDue(now);

            // Only a tick that got this far feeds the watchdog.
            _watchdog.Feed();
        }

        private void OnAdvertisement(byte[] data, int length, int rssiDbm)
        {
            if (data == null || length <= 0 || length > BleAdvertisement.MaxLegacyDataLength || length > data.Length)
            {
                return;
            }

            lock (_queueLock)
            {
                if (_queueCount == _queued.Length)
                {
                    DroppedAdvertisements++;
                    return;
                }

                int tail = (_queueHead + _queueCount) % _queued.Length;
                System.Array.Copy(data, 0, _queued[tail], 0, length);
                _queuedLength[tail] = length;
                _queuedRssi[tail] = rssiDbm;
                _queueCount++;
            }
        }

        private void ProcessAdvertisements(long now)
        {
            while (true)
            {
                int length;
                int rssi;
                lock (_queueLock)
                {
                    if (_queueCount == 0)
                    {
                        return;
                    }

                    length = _queuedLength[_queueHead];
                    rssi = _queuedRssi[_queueHead];
                    System.Array.Copy(_queued[_queueHead], 0, _scratch, 0, length);
                    _queueHead = (_queueHead + 1) % _queued.Length;
                    _queueCount--;
                }

                HandleAdvertisement(length, rssi, now);
            }
        }

        private void HandleAdvertisement(int length, int rssi, long now)
        {
            int frameOffset;
            int frameLength;
            if (!BleAdvertisement.TryFindFrame(_scratch, 0, length, out frameOffset, out frameLength))
            {
                // Someone else's advertisement: the air is full of them.
                return;
            }

            if (EscortFrame.IsEscort(_scratch, frameOffset, frameLength))
            {
                HandleEscort(frameOffset, frameLength, rssi, now);
                return;
            }

            // Firmware carousel pieces (§11.9) are the update receiver's, which hears them itself.
            if (CarouselPiece.IsPiece(_scratch, frameOffset, frameLength))
            {
                return;
            }

            // Version-2 frames (protocol/README.md §10) show neither type nor id: a light that speaks version 2 opens those
            // addressed to it; bells' uplinks and other lights' commands are neighbours' traffic, not counted.
            if (FrameCodecV2.IsVersion2(_scratch, frameOffset, frameLength))
            {
                if (_seal.Version == FrameCodecV2.Version)
                {
                    HandleSealedDownlink(frameOffset, frameLength, now);
                }

                return;
            }

            if (FrameCodec.Validate(_scratch, frameOffset, frameLength) != FrameError.None)
            {
                RejectedMalformed++;
                return;
            }

            FrameType type = FrameCodec.ReadType(_scratch, frameOffset);
            if (type == FrameType.Command)
            {
                // Commands for other lights (signed with their keys) are not ours to judge; a version-2 light takes none in version 1.
                if (FrameCodec.ReadDeviceId(_scratch, frameOffset) == _config.LightId && _seal.Version == FrameCodec.CurrentVersion)
                {
                    HandleCommand(frameOffset, frameLength, now);
                }
            }
            else if (type == FrameType.Escort)
            {
                // Version-1 escorts were signed with the one city-wide key lights no longer hold (§10.1).
                RejectedMalformed++;
            }
        }

        /// <summary>
        /// Takes an escort key record (<see cref="EscortKeyRecord"/>) delivered for this light; false when it is malformed
        /// or the flash refused it. Call on the thread that calls <see cref="Tick"/>.
        /// </summary>
        public bool InstallEscortKey(byte[] record, int offset)
        {
            if (record == null || offset < 0 || offset > record.Length - EscortKeyRecord.Length || EscortKeyRecord.ReadArea(record, offset) == 0)
            {
                return false;
            }

            if (!_escortKeys.Install(record, offset))
            {
                StorageHealthy = false;
                return false;
            }

            return true;
        }

        private void HandleCommand(int frameOffset, int frameLength, long now)
        {
            if (!_codec.HasValidTag(_scratch, frameOffset, frameLength, _config.Key))
            {
                RejectedForged++;
                return;
            }

            // The gateway repeats each frame for many advertising intervals: the same counter again is that repeat.
            uint counter = FrameCodec.ReadCounter(_scratch, frameOffset);
            if (_commandFloor.IsRepeat(counter))
            {
                return;
            }

            // The floor is in flash before the command acts, so a reboot cannot reopen it to a recorded command.
            if (!_commandFloor.TryAccept(counter))
            {
                RejectedReplayed++;
                return;
            }

            if (!_commandFloor.StorageHealthy)
            {
                StorageHealthy = false;
            }

            int payload = frameOffset + FrameCodec.HeaderLength;
            ApplyCommand(_scratch[payload], BigEndian.ReadUInt16(_scratch, payload + 1), now);
        }

        /// <summary>
        /// A version-2 downlink: opened under the light's downlink keys (one HMAC to resolve its id), its (epoch, counter)
        /// above the floor written ahead in flash before it acts; a command acts, a re-key moves the beacons' epoch, an
        /// escort key part is kept until its record is whole.
        /// </summary>
        private void HandleSealedDownlink(int frameOffset, int frameLength, long now)
        {
            FrameError error = _seal.OpenDownlink(_scratch, frameOffset, frameLength, _plaintext);
            if (error == FrameError.UnknownDevice || error == FrameError.WrongDirection || error == FrameError.LengthMismatch)
            {
                // Another device's frame, or an uplink: not ours to judge.
                return;
            }

            if (error != FrameError.None)
            {
                if (error == FrameError.BadTag)
                {
                    RejectedForged++;
                }
                else
                {
                    RejectedMalformed++;
                }

                return;
            }

            FrameType type = FrameCodecV2.ReadType(_plaintext);
            if (type != FrameType.Command && type != FrameType.Rekey && type != FrameType.EscortKeyPart)
            {
                RejectedMalformed++;
                return;
            }

            byte epoch = _seal.DownlinkEpoch;
            uint counter = FrameCodecV2.ReadCounter(_plaintext);
            if (_commandEpochFloor.IsRepeat(epoch, counter))
            {
                return;
            }

            if (!_commandEpochFloor.TryAccept(epoch, counter))
            {
                RejectedReplayed++;
                return;
            }

            if (!_commandEpochFloor.StorageHealthy)
            {
                StorageHealthy = false;
            }

            int payload = FrameCodecV2.DownlinkPayloadOffset;
            if (type == FrameType.Rekey)
            {
                if (_plaintext[payload] > _requestedEpoch)
                {
                    _requestedEpoch = _plaintext[payload];
                }

                return;
            }

            if (type == FrameType.EscortKeyPart)
            {
                CollectEscortKeyPart(payload);
                return;
            }

            ApplyCommand(_plaintext[payload], BigEndian.ReadUInt16(_plaintext, payload + 1), now);
        }

        /// <summary>
        /// Keeps one authentic part of an escort key record (§10.1): the parts of one epoch, a part of another epoch
        /// starts over; the record is installed when all 13 are in. The codec has checked the index is 0–12.
        /// </summary>
        private void CollectEscortKeyPart(int payload)
        {
            byte epoch = _plaintext[payload];
            int index = _plaintext[payload + 1];
            if (_keyPartsMask == 0 || epoch != _keyPartsEpoch)
            {
                _keyPartsMask = 0;
                _keyPartsEpoch = epoch;
            }

            System.Array.Copy(_plaintext, payload + 2, _keyParts, index * EscortKeyRecord.PartDataLength, EscortKeyRecord.PartDataLength);
            _keyPartsMask |= 1 << index;
            if (_keyPartsMask != (1 << EscortKeyRecord.PartCount) - 1)
            {
                return;
            }

            _keyPartsMask = 0;
            if (EscortKeyRecord.ReadEpoch(_keyParts, 0) != epoch)
            {
                RejectedMalformed++;
                return;
            }

            if (InstallEscortKey(_keyParts, 0))
            {
                EscortKeysInstalled++;
            }
            else if (EscortKeyRecord.ReadArea(_keyParts, 0) == 0)
            {
                RejectedMalformed++;
            }
        }

        private void ApplyCommand(byte mode, ushort holdSeconds, long now)
        {
            CommandsAccepted++;
            if (mode == LightMode.Emergency)
            {
                _gatewayEmergency = true;
                _emergencyHoldSeconds = holdSeconds;
                _emergencyUntilReleased = holdSeconds == 0;
                _emergencyUntilMs = now + (holdSeconds * 1000L);
            }
            else if (mode == LightMode.Escort)
            {
                _gatewayEscort = true;
                _escortHoldSeconds = holdSeconds;
                _gatewayEscortUntilMs = now + (holdSeconds * 1000L);
            }
            else
            {
                // A release clears what the gateway set; an escort the light heard from the app goes on.
                _gatewayEmergency = false;
                _gatewayEscort = false;
            }

            SaveGatewayMode();
        }

        /// <summary>The light's checks of an escort frame, in the order of protocol/README.md §10.1.</summary>
        private void HandleEscort(int frameOffset, int frameLength, int rssi, long now)
        {
            if (EscortFrame.Validate(_scratch, frameOffset, frameLength) != FrameError.None)
            {
                RejectedMalformed++;
                return;
            }

            if (EscortFrame.ReadArea(_scratch, frameOffset) != _escortKeys.Area)
            {
                RejectedWrongArea++;
                return;
            }

            EscortKeySet? keys = _escortKeys.For(EscortFrame.ReadEpoch(_scratch, frameOffset));
            if (keys == null)
            {
                RejectedStaleEpoch++;
                return;
            }

            uint minute;
            uint airId;
            if (_escortCodec.Open(_scratch, frameOffset, keys, out minute, out airId) != FrameError.None)
            {
                RejectedForged++;
                return;
            }

            // The previous epoch's key lasts only through the changeover: after it, a key taken off a light is worth nothing.
            if (_escortKeys.IsPrevious(keys) && minute >= _escortKeys.ChangeoverEndMinute)
            {
                RejectedStaleEpoch++;
                return;
            }

            System.DateTime utc = _clock.UtcNow;
            long nowMinute = (utc.Ticks - UnixEpochTicks) / System.TimeSpan.TicksPerMinute;
            long skew = minute - nowMinute;
            if (utc.Ticks < MinValidUtcTicks || skew > _config.EscortClockToleranceMinutes || skew < -_config.EscortClockToleranceMinutes)
            {
                RejectedStale++;
                return;
            }

            // The sessions are not kept across a power cut; the floor is: a minute accepted before it is never again.
            if (minute <= _escortFloor.AtBoot || !_sessions.TryAccept(airId, minute, now))
            {
                RejectedReplayed++;
                return;
            }

            _escortFloor.Cover(minute);
            if (!_escortFloor.StorageHealthy)
            {
                StorageHealthy = false;
            }

            EscortAdvertsAccepted++;
            if (rssi >= _config.EscortMinRssiDbm)
            {
                _advertEscort = true;
                _advertEscortUntilMs = now + _config.EscortHoldMs;
            }
        }

        private void ExpireModes(long now)
        {
            bool changed = false;
            if (_gatewayEmergency && !_emergencyUntilReleased && now >= _emergencyUntilMs)
            {
                _gatewayEmergency = false;
                changed = true;
            }

            if (_gatewayEscort && now >= _gatewayEscortUntilMs)
            {
                _gatewayEscort = false;
                changed = true;
            }

            if (_advertEscort && now >= _advertEscortUntilMs)
            {
                _advertEscort = false;
            }

            if (changed)
            {
                SaveGatewayMode();
            }
        }

        private void UpdateSchedule(long now)
        {
            double reading = _ambient.Read();
            bool wantsChange = _ambientDark ? reading > _config.AmbientLightAbove : reading < _config.AmbientDarkBelow;
            if (!wantsChange)
            {
                _ambientChanging = false;
            }
            else if (!_ambientChanging)
            {
                _ambientChanging = true;
                _ambientChangingSinceMs = now;
            }
            else if (now - _ambientChangingSinceMs >= _config.AmbientHoldMs)
            {
                _ambientDark = !_ambientDark;
                _ambientChanging = false;
            }

            // The sun moves slowly: recompute now and then, not every tick (the C3 has no FPU).
            if (now >= _nextSolarMs)
            {
                System.DateTime utc = _clock.UtcNow;
                _solarNight = utc.Ticks >= MinValidUtcTicks
                    && SolarCalculator.IsNight(utc, _config.Latitude, _config.Longitude, _config.SolarMarginMinutes);
                _nextSolarMs = now + SolarRecomputeMs;
            }

            // Either is enough: a dark storm by day, or night with a neighbour's light on the sensor.
            ScheduledOn = _solarNight || _ambientDark;
        }

        private void UpdateOutput(long now, long elapsedMs)
        {
            double target = Mode == LightMode.Schedule ? (ScheduledOn ? _config.NightLevel : 0) : _config.FullLevel;
            double step = _config.RampPercentPerSecond * elapsedMs / 1000.0;
            if (Mode == LightMode.Emergency)
            {
                // Blinking is the signal here; a ramp would only blur it.
                _level = target;
            }
            else if (_level < target)
            {
                _level = _level + step > target ? target : _level + step;
            }
            else if (_level > target)
            {
                _level = _level - step < target ? target : _level - step;
            }

            double output = _level;
            if (Mode == LightMode.Emergency)
            {
                int half = _config.EmergencyBlinkPeriodMs / 2;
                output = half > 0 && (now / half) % 2 == 1 ? _config.EmergencyLowLevel : _config.FullLevel;
            }
            else if (Mode == LightMode.Escort && _config.EscortBlinkPeriodMs > 0)
            {
                double phase = (now % _config.EscortBlinkPeriodMs) / (double)_config.EscortBlinkPeriodMs;
                double dip = phase < 0.5 ? 2 * phase : 2 - (2 * phase);
                output = _level * (1.0 - (_config.EscortBlinkDepthPercent / 100.0 * dip));
            }

            // Most drivers do not dim to zero: by day the relay takes their power away.
            bool cutoff = target <= 0 && output <= 0;
            OutputLevel = cutoff ? 0 : output;
            if (!_cutoffWritten || cutoff != _cutoff)
            {
                _lampCutoff.Write(cutoff);
                _cutoff = cutoff;
                _cutoffWritten = true;
            }

            // The optocoupler darkens the lamp as the duty rises: lamp level = 1 - duty.
            double duty = 1.0 - (OutputLevel / 100.0);
            if (duty != _writtenDuty)
            {
                _dimmer.SetDuty(duty);
                _writtenDuty = duty;
            }
        }

        private void MonitorLamp(long now)
        {
            bool currentFlows = _lampCurrent.Read() >= _config.LampCurrentMin;
            bool shouldBeLit = !_cutoff && _level >= FaultCheckMinLevel;
            if (currentFlows)
            {
                _noCurrentSinceMs = -1;
                if (!LampFault)
                {
                    _currentSinceMs = -1;
                    return;
                }

                if (_currentSinceMs < 0)
                {
                    _currentSinceMs = now;
                }

                if (now - _currentSinceMs >= _config.LampRestoreAfterMs)
                {
                    LampFault = false;
                    _currentSinceMs = -1;
                }
            }
            else if (shouldBeLit)
            {
                _currentSinceMs = -1;
                if (_noCurrentSinceMs < 0)
                {
                    _noCurrentSinceMs = now;
                }

                if (now - _noCurrentSinceMs >= _config.LampFaultAfterMs)
                {
                    LampFault = true;
                }
            }
            else
            {
                // Cut off or too dim to judge: neither a fault nor a restore.
                _noCurrentSinceMs = -1;
                _currentSinceMs = -1;
            }
        }

        private void BeaconIfDue(long now)
        {
            byte level = (byte)(Mode == LightMode.Emergency ? _config.FullLevel : (int)(_level + 0.5));
            bool settled = Mode == LightMode.Emergency || _level == (Mode == LightMode.Schedule ? (ScheduledOn ? _config.NightLevel : 0) : _config.FullLevel);

            // Mode and fault go out at once (the gateway waits for the commanded mode as confirmation);
            // a ramp is reported when it has settled, or by the regular beacon meanwhile.
            bool changed = !_beaconed || Mode != _beaconMode || LampFault != _beaconFault || (settled && level != _beaconLevel);
            if (!changed && now < _nextBeaconMs)
            {
                return;
            }

            _beaconPayload[0] = (byte)(Mode | (LampFault ? FramePayloads.BeaconLampFault : 0));
            _beaconPayload[1] = level > FramePayloads.MaxLevel ? FramePayloads.MaxLevel : level;

            // A light awaits no acks: a re-key or its counter's wrap moves the beacons' epoch at once, written to flash first (§10).
            if (_seal.Version == FrameCodecV2.Version && _counter.MoveEpochIfDue(_requestedEpoch, true))
            {
                _seal.MoveUplinkTo(_counter.Epoch);
            }

            uint counter = _counter.Next();
            ushort escortKey = _seal.Version == FrameCodecV2.Version && _escortKeys.Area != 0 ? (ushort)(FramePayloads.BeaconEscortKeyFlag | _escortKeys.Epoch) : (ushort)0;
            int frameLength = _seal.Seal(FrameType.Beacon, counter, ContactIdCode.None, ContactIdQualifier.None, escortKey, _beaconPayload, 0, _beaconPayload.Length, _frame, 0);
            int advertisementLength = BleAdvertisement.Write(_frame, 0, frameLength, _seal.AdvertisesFlags, _advertisement, 0);
            if (!_counter.StorageHealthy)
            {
                StorageHealthy = false;
            }

            if (_radio.Advertise(_advertisement, advertisementLength, _config.BeaconAdvertisingIntervalMs))
            {
                BeaconsSent++;
            }

            _beaconed = true;
            _beaconMode = Mode;
            _beaconFault = LampFault;
            _beaconLevel = level;
            _nextBeaconMs = now + _config.BeaconIntervalMs;
        }

        private void SaveGatewayMode()
        {
            _modeImage[0] = (byte)(_gatewayEmergency ? (_emergencyUntilReleased ? 2 : 1) : 0);
            BigEndian.WriteUInt16(_modeImage, 1, _emergencyHoldSeconds);
            _modeImage[3] = (byte)(_gatewayEscort ? 1 : 0);
            BigEndian.WriteUInt16(_modeImage, 4, _escortHoldSeconds);

            // The gateway refreshes a held mode every third of its hold: the same record again is not written.
            if (_modeSaved && SameBytes(_modeImage, _savedModeImage))
            {
                return;
            }

            if (Persist(GatewayModeRecordName, _modeImage))
            {
                System.Array.Copy(_modeImage, _savedModeImage, _modeImage.Length);
                _modeSaved = true;
            }
        }

        private static bool SameBytes(byte[] a, byte[] b)
        {
            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// After a reboot, an emergency or escort the gateway set goes on for its whole hold again (the time spent
        /// down is unknown): for a safety light, blinking a little longer beats going dark early.
        /// </summary>
        private void RestoreGatewayMode(long now)
        {
            byte[]? image = _storage.Read(GatewayModeRecordName);
            if (image == null || image.Length != _modeImage.Length || image[0] > 2 || image[3] > 1)
            {
                return;
            }

            _emergencyHoldSeconds = BigEndian.ReadUInt16(image, 1);
            _escortHoldSeconds = BigEndian.ReadUInt16(image, 4);
            _gatewayEmergency = image[0] != 0;
            _emergencyUntilReleased = image[0] == 2;
            _emergencyUntilMs = now + (_emergencyHoldSeconds * 1000L);
            _gatewayEscort = image[3] == 1 && _escortHoldSeconds > 0;
            _gatewayEscortUntilMs = now + (_escortHoldSeconds * 1000L);
            System.Array.Copy(image, _savedModeImage, image.Length);
            _modeSaved = true;
        }

        private bool Persist(string name, byte[] image)
        {
            if (!_storage.Write(name, image))
            {
                StorageHealthy = false;
                return false;
            }

            return true;
        }
    }
}
