using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware
{
    /// <summary>
    /// The panic bell's device logic, driven by <see cref="Tick"/> from the device loop every 10–20 ms.
    /// A deliberate press (or a spoken keyword, a tamper switch, mains or battery trouble, the periodic
    /// test) raises a Contact ID event that is persisted before it is first sent and is resent with
    /// backoff until the gateway's signed ack says it is stored: over MQTT, and over BLE advertisements
    /// when no broker is reachable. All timing comes from <see cref="IClock"/>. Button edges, downlink
    /// messages and advertisements arrive on other threads and are only queued there; everything else
    /// runs on the thread that calls Tick. A tick may be held up by the network for up to
    /// <see cref="BellConfig.PublishTimeoutMs"/>: presses are judged by the time stamps of their edges,
    /// so a press made meanwhile still counts exactly as it was made.
    /// </summary>
    public sealed class PanicBell : IAckReceiver, Ota.IUpdateHold
    {
        public const string DownlinkRecordName = DownlinkReceiver.WindowEntryName;

        private const int MaxVoiceCommandsPerTick = 4;

        private readonly BellConfig _config;
        private readonly IClock _clock;
        private readonly IStatusLed _led;
        private readonly IDeviceStorage _storage;
        private readonly IMqttLink? _link;
        private readonly IRandom _random;
        private readonly FrameSeal _seal;
        private readonly FrameCounter _counter;
        private readonly AlarmStore _alarms;
        private readonly DownlinkReceiver _downlinks;
        private readonly AlarmDelivery _delivery;
        private readonly Heartbeat _heartbeat;
        private readonly AlarmLed _alarmLed;
        private readonly PressDetector _button;
        private readonly PressDetector? _auxButton;
        private readonly IVoiceModule? _voice;
        private readonly IBleRadio? _radio;
        private readonly IWatchdog? _watchdog;
        private readonly ISleepController? _sleep;
        private readonly TroubleMonitor _troubles;
        private readonly BellSchedule _schedule;
        private readonly byte[] _advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        private readonly byte[] _bleFrame = new byte[FrameCodec.MaxFlaglessAdvertisedFrameLength];
        private readonly long _bootMs;

        private bool _wasConnected;
        private long _newestRaisedMs;
        private long _alarmAwakeSinceMs;
        private long _disconnectedSinceMs;
        private int _lastKeyword = -1;
        private long _lastKeywordMs;

        // BLE: the advertisement on air, the burst round over the pending alarms, and its backoff.
        private bool _advertising;
        private long _advertisingEndsMs;
        private bool _scanning;
        private bool _roundActive;
        private int _roundIndex;
        private long _nextBurstMs;
        private int _bleBackoffMs;

        public PanicBell(BellConfig config, IClock clock, IButtonInput button, IStatusLed led, IDeviceStorage storage, IMqttLink link, IHmacSha256 mac, IRandom random)
            : this(config, clock, button, led, storage, link, mac, random, new BellPeripherals())
        {
        }

        /// <param name="link">The MQTT session, or null on a bell with BLE only.</param>
        public PanicBell(BellConfig config, IClock clock, IButtonInput button, IStatusLed led, IDeviceStorage storage, IMqttLink? link, IHmacSha256 mac, IRandom random, BellPeripherals peripherals)
        {
            _config = config;
            _clock = clock;
            _led = led;
            _storage = storage;
            _link = link;
            _random = random;
            _voice = peripherals.Voice;
            _radio = peripherals.Radio;
            _watchdog = peripherals.Watchdog;
            _sleep = config.DeepSleep ? peripherals.Sleep : null;
            _seal = new FrameSeal(mac, config.Key, config.DeviceId, config.FrameVersion);
            _counter = new FrameCounter(storage, config.CounterBlockSize);
            _seal.MoveUplinkTo(_counter.Epoch);
            _alarms = new AlarmStore(storage);
            _downlinks = new DownlinkReceiver(_seal, config.DeviceId, storage, config.MaxQueuedDownlinks, this);
            _delivery = new AlarmDelivery(_alarms, link, _seal, config.DeviceId, clock, random, config.ResendInitialMs, config.ResendMaxMs, config.PublishTimeoutMs);
            _heartbeat = new Heartbeat(_alarms, link, _seal, config.DeviceId, _counter, _downlinks, clock, config.HeartbeatIntervalMs, config.PublishTimeoutMs);
            _alarmLed = new AlarmLed(led, _alarms, config.FailedAfterMs);

            // Alarms that survived a reboot go out on the first tick, with a fresh Failed timer.
            long now = clock.MonotonicMs;
            _bootMs = now;
            _newestRaisedMs = now;
            _alarmAwakeSinceMs = now;
            _disconnectedSinceMs = now;
            _nextBurstMs = now;
            _bleBackoffMs = config.BleRetryInitialMs;
            _schedule = new BellSchedule(storage, clock, config.PeriodicTestIntervalMs, config.CheckInIntervalMs);
            _troubles = new TroubleMonitor(config, now, storage, peripherals.Tamper, peripherals.Mains, peripherals.Battery, Raise);
            if (link != null)
            {
                link.MessageReceived += _downlinks.OnMessage;
            }

            if (_radio != null)
            {
                _radio.AdvertisementReceived += OnAdvertisement;
            }

            // A timer wake to retry unanswered alarms stays up for one round, not the full alarm time.
            if (_sleep != null && _sleep.WakeCause == WakeCause.Timer && _alarms.Count > 0)
            {
                _alarmAwakeSinceMs = now - config.AlarmAwakeMs + config.RetryAwakeMs;
            }

            // A button that woke the bell from deep sleep has been down since the wake, not since the
            // program got going: the press counts from the wake.
            bool wokenByButton = _sleep != null && _sleep.WakeCause == WakeCause.Button;
            _button = new PressDetector(button, config.DebounceMs, config.LongPressMs, config.MaxQueuedButtonEdges, wokenByButton ? _sleep!.WokeAtMs : now);
            if (peripherals.AuxButton != null)
            {
                _auxButton = new PressDetector(peripherals.AuxButton, config.DebounceMs, config.LongPressMs, config.MaxQueuedButtonEdges, now);
            }
        }

        public LedState LedState
        {
            get { return _alarmLed.State; }
        }

        public int PendingAlarmCount
        {
            get { return _alarms.Count; }
        }

        /// <summary>An alarm or trouble not yet received by the gateway holds an update (protocol/README.md §11.3).</summary>
        public bool HoldsUpdate
        {
            get { return _alarms.Count > 0; }
        }

        /// <summary>The counter the next uplink frame will carry.</summary>
        public uint NextCounter
        {
            get { return _counter.Peek; }
        }

        /// <summary>The key epoch the bell's uplinks are sealed in (protocol/README.md §10, re-key).</summary>
        public byte KeyEpoch
        {
            get { return _counter.Epoch; }
        }

        /// <summary>Counter of the newest alarm the LED reports on (0 when none), across reboots. Silent alarms and troubles do not count.</summary>
        public uint NewestAlarmCounter
        {
            get { return _alarms.NewestCounter; }
        }

        /// <summary>Events queued for delivery: alarms, troubles and their restores, periodic tests.</summary>
        public int AlarmsRaised { get; private set; }

        /// <summary>Events refused because the pending queue was full.</summary>
        public int AlarmsRefused { get; private set; }

        /// <summary>Alarm frames handed to the broker (first sends and resends).</summary>
        public int AlarmFramesSent
        {
            get { return _delivery.FramesSent; }
        }

        /// <summary>Alarm advertisements started over BLE (one per frame per burst).</summary>
        public int AlarmBurstsSent { get; private set; }

        public int HeartbeatsSent
        {
            get { return _heartbeat.Sent; }
        }

        /// <summary>Acks in: accepted, and what was forged, replayed, malformed or dropped.</summary>
        public DownlinkReceiver Downlinks
        {
            get { return _downlinks; }
        }

        /// <summary>Button edges lost because too many arrived between two ticks (see <see cref="BellConfig.MaxQueuedButtonEdges"/>).</summary>
        public int DroppedButtonEdges
        {
            get { return _button.DroppedEdges + (_auxButton == null ? 0 : _auxButton.DroppedEdges); }
        }

        /// <summary>Command ids from the voice module that are not a configured keyword.</summary>
        public int UnknownKeywords { get; private set; }

        public TroubleMonitor Troubles
        {
            get { return _troubles; }
        }

        /// <summary>True once the bell has handed itself to deep sleep (only a simulated sleep returns).</summary>
        public bool Asleep { get; private set; }

        public bool StorageHealthy
        {
            get { return _counter.StorageHealthy && _alarms.StorageHealthy && _downlinks.StorageHealthy && _troubles.StorageHealthy && _schedule.StorageHealthy; }
        }

        public void Tick()
        {
            if (Asleep)
            {
                return;
            }

            if (_watchdog != null)
            {
                _watchdog.Feed();
            }

            long now = _clock.MonotonicMs;
            EvaluateButtons(now);
            PollVoice(now);
            _troubles.Poll(now);
            RaiseDueTest(now);
            ServiceLink(now);
            _downlinks.ProcessQueued();
            MoveEpochIfDue();
            _delivery.SendDue();
            ServiceBle(_clock.MonotonicMs);
            _heartbeat.SendDue(_clock.MonotonicMs, StorageHealthy, _troubles.BatteryPercent);
            _alarmLed.Show(_clock.MonotonicMs, _alarms.NewestCounter, _alarms.NewestStage, _newestRaisedMs);
            ConsiderSleep(_clock.MonotonicMs);
        }

        private void EvaluateButtons(long now)
        {
            ushort code = _config.SilentMode ? ContactIdCode.SilentPanic : _config.EventCode;
            for (int presses = _button.Evaluate(now); presses > 0; presses--)
            {
                RaiseAlarm(now, _button.DeliberateAtMs, code, _config.Zone);
            }

            if (_auxButton != null)
            {
                for (int presses = _auxButton.Evaluate(now); presses > 0; presses--)
                {
                    RaiseAlarm(now, _auxButton.DeliberateAtMs, _config.AuxEventCode, _config.AuxZone);
                }
            }
        }

        private void PollVoice(long now)
        {
            if (_voice == null)
            {
                return;
            }

            for (int i = 0; i < MaxVoiceCommandsPerTick; i++)
            {
                int id = _voice.NextCommand();
                if (id < 0)
                {
                    return;
                }

                VoiceKeyword? keyword = FindKeyword(id);
                if (keyword == null)
                {
                    UnknownKeywords++;
                    continue;
                }

                // Someone calling "help" three times makes one call for help.
                if (id == _lastKeyword && now - _lastKeywordMs < _config.VoiceRepeatMs)
                {
                    continue;
                }

                _lastKeyword = id;
                _lastKeywordMs = now;
                RaiseAlarm(now, now, keyword.EventCode, _config.VoiceZone);
            }
        }

        private VoiceKeyword? FindKeyword(int commandId)
        {
            VoiceKeyword[] keywords = _config.VoiceKeywords;
            for (int i = 0; i < keywords.Length; i++)
            {
                if (keywords[i].CommandId == commandId)
                {
                    return keywords[i];
                }
            }

            return null;
        }

        private void RaiseDueTest(long now)
        {
            if (now >= _schedule.TestDueMs && Raise(ContactIdCode.PeriodicTest, ContactIdQualifier.NewEvent, _config.SystemZone))
            {
                _schedule.MarkTest();
            }
        }

        /// <summary>Duress and silent panic never show: whoever forced them may be watching the bell.</summary>
        private static bool IsSilent(ushort code)
        {
            return code == ContactIdCode.SilentPanic || code == ContactIdCode.Duress;
        }

        /// <param name="deliberateAtMs">When the call for help was made: the Failed timer runs from there, however late the tick.</param>
        private void RaiseAlarm(long now, long deliberateAtMs, ushort code, ushort zone)
        {
            bool shown = !IsSilent(code);
            if (Queue(code, ContactIdQualifier.NewEvent, zone, shown) && shown)
            {
                _newestRaisedMs = deliberateAtMs;
            }
        }

        /// <summary>A trouble, restore or test: queued and delivered like an alarm, never shown on the LED.</summary>
        private bool Raise(ushort code, byte qualifier, ushort zone)
        {
            return Queue(code, qualifier, zone, false);
        }

        private bool Queue(ushort code, byte qualifier, ushort zone, bool shown)
        {
            // A full queue means the gateway has been unreachable for many events. The queued ones (the
            // oldest is the first call for help) are kept and resent; the LED keeps showing their state,
            // so the refusal hides nothing from the resident.
            if (_alarms.Count >= _config.MaxPendingAlarms)
            {
                AlarmsRefused++;
                return false;
            }

            long now = _clock.MonotonicMs;
            MoveEpochIfDue();
            uint counter = _counter.Next();
            _alarms.Add(new PendingAlarm(counter, code, qualifier, zone), shown);
            AlarmsRaised++;
            _alarmAwakeSinceMs = now;
            _delivery.Restart(now);
            _bleBackoffMs = _config.BleRetryInitialMs;
            _nextBurstMs = now;

            // A new call for help starts the retries afresh.
            _schedule.SetRetrySleep(0);
            return true;
        }

        /// <summary>
        /// A re-key asked for, or the counter at its wrap: the bell moves its uplinks to the new epoch only while no alarm
        /// awaits its ack (its stored frames keep the epoch they were sent in), with the new epoch in flash first (§10).
        /// </summary>
        private void MoveEpochIfDue()
        {
            if (_counter.MoveEpochIfDue(_downlinks.RequestedEpoch, _alarms.Count == 0))
            {
                _seal.MoveUplinkTo(_counter.Epoch);
            }
        }

        private void ServiceLink(long now)
        {
            if (_link == null)
            {
                return;
            }

            bool connected = _link.IsConnected;
            if (connected && !_wasConnected)
            {
                _delivery.SendNow(now);
                _heartbeat.SendNow(now);
                _downlinks.Resubscribe(now);
            }
            else if (!connected && _wasConnected)
            {
                _disconnectedSinceMs = now;
            }

            _wasConnected = connected;
            _downlinks.KeepSubscribed(_link, connected, now, _config.PublishTimeoutMs);
        }

        /// <summary>
        /// On the radio's thread: keeps only Anshimi acks addressed to this bell (a street is full of other
        /// devices' advertisements), copied, since the radio reuses its buffer. Everything else about them is
        /// checked on the loop like an MQTT downlink.
        /// </summary>
        private void OnAdvertisement(byte[] advertisingData, int length, int rssi)
        {
            int frameOffset;
            int frameLength;
            if (!BleAdvertisement.TryFindFrame(advertisingData, 0, length, out frameOffset, out frameLength)
                || !_seal.MayBeDownlinkFor(advertisingData, frameOffset, frameLength, FrameType.Ack))
            {
                return;
            }

            var frame = new byte[frameLength];
            System.Array.Copy(advertisingData, frameOffset, frame, 0, frameLength);
            _downlinks.Enqueue(frame);
        }

        void IAckReceiver.OnAck(uint ackedCounter, AckStage stage)
        {
            _alarms.Acknowledge(ackedCounter, stage);
            if (_alarms.Count == 0)
            {
                _delivery.ResetBackoff();
                _schedule.SetRetrySleep(0);
            }
        }

        private Frame AlarmFrame(PendingAlarm alarm)
        {
            return AlarmDelivery.AlarmFrame(_config.DeviceId, alarm);
        }

        /// <summary>BLE carries the alarms of a bell without a broker: at once on a BLE-only bell, after a grace time on a Wi-Fi bell.</summary>
        private bool BlePathActive(long now)
        {
            return _radio != null
                && (_link == null || (!_link.IsConnected && now - _disconnectedSinceMs >= _config.BleFallbackAfterMs));
        }

        private void ServiceBle(long now)
        {
            if (_radio == null)
            {
                return;
            }

            if (_advertising && now >= _advertisingEndsMs)
            {
                _radio.StopAdvertising();
                _advertising = false;
            }

            if (!BlePathActive(now) || _alarms.Count == 0)
            {
                if (_scanning)
                {
                    _radio.StopScanning();
                    _scanning = false;
                }

                _roundActive = false;
                if (_alarms.Count == 0 && _link == null && !_advertising && now >= _schedule.CheckInDueMs)
                {
                    AdvertiseHeartbeat(now);
                }

                return;
            }

            // Listen for the gateway's ack for as long as anything is pending.
            if (!_scanning)
            {
                _radio.StartScanning();
                _scanning = true;
            }

            if (_advertising)
            {
                return;
            }

            if (_roundActive && _roundIndex < _alarms.Count)
            {
                // Oldest first, one frame after the other, each for a burst's length.
                Advertise(AlarmFrame(_alarms[_roundIndex++]), now);
                AlarmBurstsSent++;
                return;
            }

            if (_roundActive)
            {
                _roundActive = false;
                _nextBurstMs = now + _bleBackoffMs + _random.Next((_bleBackoffMs / 5) + 1);
                _bleBackoffMs = _bleBackoffMs >= _config.BleRetryMaxMs / 2 ? _config.BleRetryMaxMs : _bleBackoffMs * 2;
                return;
            }

            if (now >= _nextBurstMs)
            {
                _roundActive = true;
                _roundIndex = 1;
                Advertise(AlarmFrame(_alarms[0]), now);
                AlarmBurstsSent++;
            }
        }

        private void Advertise(Frame frame, long now)
        {
            int frameLength = _seal.Seal(frame, _bleFrame, 0);
            int length = BleAdvertisement.Write(_bleFrame, 0, frameLength, _seal.AdvertisesFlags, _advertisement, 0);
            // A burst the radio refused is one no gateway heard: the backoff sends it again.
            _radio!.Advertise(_advertisement, length, _config.BleAdvertisingIntervalMs);
            _advertising = true;
            _advertisingEndsMs = now + _config.BleBurstMs;
        }

        private void AdvertiseHeartbeat(long now)
        {
            Advertise(_heartbeat.TakeFrame(StorageHealthy, _troubles.BatteryPercent), now);
            _schedule.MarkCheckIn();
        }

        /// <summary>
        /// A battery bell sleeps once nothing is under way: no press being timed, no contact settling, no
        /// advertisement on air. With alarms unanswered it stays awake bursting for a while, then sleeps
        /// until the next retry; otherwise until the next check-in or periodic test.
        /// </summary>
        private void ConsiderSleep(long now)
        {
            if (_sleep == null || now - _bootMs < _config.MinAwakeMs || _advertising || !_troubles.Settled
                || _button.Busy || (_auxButton != null && _auxButton.Busy))
            {
                return;
            }

            long sleepMs;
            if (_alarms.Count > 0)
            {
                if (now - _alarmAwakeSinceMs < _config.AlarmAwakeMs)
                {
                    return;
                }

                // Doubling across wakes: a bell no gateway hears must not spend its cells retrying.
                long last = _schedule.RetrySleepMs;
                sleepMs = last == 0 ? _config.BleRetryInitialMs : (last * 2 > _config.RetrySleepMaxMs ? _config.RetrySleepMaxMs : last * 2);
                _schedule.SetRetrySleep((uint)sleepMs);
            }
            else
            {
                long due = _schedule.CheckInDueMs < _schedule.TestDueMs ? _schedule.CheckInDueMs : _schedule.TestDueMs;
                sleepMs = due - now;
            }

            if (_scanning)
            {
                _radio!.StopScanning();
                _scanning = false;
            }

            Asleep = true;
            _led.Show(LedState.Idle);
            _sleep.EnterDeepSleep(sleepMs < 1 ? 1 : sleepMs);
        }
    }
}
