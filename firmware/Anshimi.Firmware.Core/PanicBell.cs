using System.Collections;
using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware
{
    /// <summary>
    /// The panic bell's device logic, driven by <see cref="Tick"/> from the device loop every 10–20 ms.
    /// A deliberate press raises a Contact ID alarm that is persisted before it is first sent and is
    /// resent with backoff until the gateway's signed ack says it is stored. All timing comes from
    /// <see cref="IClock"/>. Button edges and downlink messages arrive on other threads and are only
    /// queued there; everything else runs on the thread that calls Tick. A tick may be held up by the
    /// network for up to <see cref="BellConfig.PublishTimeoutMs"/>: presses are judged by the time
    /// stamps of their edges, so a press made meanwhile still counts exactly as it was made.
    /// </summary>
    public sealed class PanicBell
    {
        public const string DownlinkRecordName = "downlink";

        /// <summary>Heartbeat flag: a flash write failed.</summary>
        public const byte FlagStorageFault = 0x01;

        /// <summary>Heartbeat flag: downlink frames were rejected since the last heartbeat (forgery or replay attempts).</summary>
        public const byte FlagDownlinkRejected = 0x02;

        /// <summary>Heartbeat battery byte of a mains-powered bell.</summary>
        public const byte BatteryMains = 0xFF;

        private const int SubscribeRetryMs = 5000;

        private readonly BellConfig _config;
        private readonly IClock _clock;
        private readonly IStatusLed _led;
        private readonly IDeviceStorage _storage;
        private readonly IMqttLink _link;
        private readonly IRandom _random;
        private readonly FrameCodec _codec;
        private readonly FrameCounter _counter;
        private readonly AlarmStore _alarms;
        private readonly CounterWindow _downlinkWindow;
        private readonly string _uplinkTopic;
        private readonly string _downlinkTopic;
        private readonly Queue _downlinks = new Queue();
        private readonly object _downlinkLock = new object();
        private readonly byte[] _heartbeatPayload = new byte[2];

        private readonly object _edgeLock = new object();
        private readonly bool[] _edgePressed;
        private readonly long[] _edgeAtMs;
        private int _edgeHead;
        private int _edgeCount;

        // Debouncing: the newest edge, not yet stable for DebounceMs, and the level that last was.
        private bool _hasCandidate;
        private bool _candidatePressed;
        private long _candidateAtMs;
        private bool _pressed;
        private long _pressStartMs;
        private bool _pressFired;

        private bool _wasConnected;
        private bool _subscribed;
        private long _nextSubscribeMs;
        private long _nextResendMs;
        private int _backoffMs;
        private long _nextHeartbeatMs;
        private long _newestRaisedMs;
        private int _rejectedAtLastHeartbeat;
        private bool _downlinkStorageHealthy = true;
        private bool _ledShown;

        public PanicBell(BellConfig config, IClock clock, IButtonInput button, IStatusLed led, IDeviceStorage storage, IMqttLink link, IHmacSha256 mac, IRandom random)
        {
            _config = config;
            _clock = clock;
            _led = led;
            _storage = storage;
            _link = link;
            _random = random;
            _codec = new FrameCodec(mac);
            _counter = new FrameCounter(storage, config.CounterBlockSize);
            _alarms = new AlarmStore(storage);
            byte[]? window = storage.Read(DownlinkRecordName);
            _downlinkWindow = new CounterWindow(window != null && window.Length == 4 ? BigEndian.ReadUInt32(window, 0) : 0);
            _uplinkTopic = Topics.DeviceUplink(config.DeviceId);
            _downlinkTopic = Topics.DeviceDownlink(config.DeviceId);

            // Two edges make one press, so a smaller queue could not hold even one.
            int edgeCapacity = config.MaxQueuedButtonEdges < 2 ? 2 : config.MaxQueuedButtonEdges;
            _edgePressed = new bool[edgeCapacity];
            _edgeAtMs = new long[edgeCapacity];

            // Alarms that survived a reboot go out on the first tick, with a fresh Failed timer.
            long now = clock.MonotonicMs;
            _nextResendMs = now;
            _nextHeartbeatMs = now;
            _newestRaisedMs = now;
            _backoffMs = config.ResendInitialMs;
            link.MessageReceived += OnMessage;

            // Listen first, then read the level: a press under way at start-up counts from now, and
            // an edge caught in between only repeats the level, which the debouncer ignores.
            button.ButtonChanged += OnButtonChanged;
            if (button.IsPressed)
            {
                OnButtonChanged(true, now);
            }
        }

        public LedState LedState { get; private set; }

        public int PendingAlarmCount
        {
            get { return _alarms.Count; }
        }

        /// <summary>The counter the next uplink frame will carry.</summary>
        public uint NextCounter
        {
            get { return _counter.Peek; }
        }

        /// <summary>Counter of the newest alarm raised on this device (0 when none), across reboots.</summary>
        public uint NewestAlarmCounter
        {
            get { return _alarms.NewestCounter; }
        }

        public int AlarmsRaised { get; private set; }

        /// <summary>Presses refused because the pending queue was full.</summary>
        public int AlarmsRefused { get; private set; }

        /// <summary>Alarm frames handed to the broker (first sends and resends).</summary>
        public int AlarmFramesSent { get; private set; }

        public int HeartbeatsSent { get; private set; }

        public int AcksAccepted { get; private set; }

        /// <summary>Downlink frames whose tag did not verify under this device's key.</summary>
        public int RejectedForged { get; private set; }

        /// <summary>Authentic downlink frames whose counter was not fresher than the last accepted one.</summary>
        public int RejectedReplayed { get; private set; }

        /// <summary>Downlink messages that were not a well-formed ack for this device.</summary>
        public int RejectedMalformed { get; private set; }

        /// <summary>Downlink messages dropped unread: on a foreign topic, or too many between two ticks.</summary>
        public int DroppedDownlinks { get; private set; }

        /// <summary>Button edges lost because too many arrived between two ticks (see <see cref="BellConfig.MaxQueuedButtonEdges"/>).</summary>
        public int DroppedButtonEdges { get; private set; }

        public bool StorageHealthy
        {
            get { return _counter.StorageHealthy && _alarms.StorageHealthy && _downlinkStorageHealthy; }
        }

        private int RejectedTotal
        {
            get { return RejectedForged + RejectedReplayed + RejectedMalformed + DroppedDownlinks; }
        }

        public void Tick()
        {
            long now = _clock.MonotonicMs;
            EvaluateButton(now);
            ServiceLink(now);
            ProcessDownlinks();
            SendDueAlarms();
            SendDueHeartbeat(now);
            ShowLed(now);
        }

        private void OnButtonChanged(bool pressed, long atMonotonicMs)
        {
            lock (_edgeLock)
            {
                if (_edgeCount == _edgePressed.Length)
                {
                    // Full: the newest edge takes the last slot, so the level the bell ends up with is
                    // still the pin's; only what happened in between is lost.
                    _edgeCount--;
                    DroppedButtonEdges++;
                }

                int tail = (_edgeHead + _edgeCount) % _edgePressed.Length;
                _edgePressed[tail] = pressed;
                _edgeAtMs[tail] = atMonotonicMs;
                _edgeCount++;
            }
        }

        private void EvaluateButton(long now)
        {
            while (true)
            {
                bool pressed;
                long atMs;
                lock (_edgeLock)
                {
                    if (_edgeCount == 0)
                    {
                        break;
                    }

                    pressed = _edgePressed[_edgeHead];
                    atMs = _edgeAtMs[_edgeHead];
                    _edgeHead = (_edgeHead + 1) % _edgePressed.Length;
                    _edgeCount--;
                }

                OnEdge(pressed, atMs, now);
            }

            if (_hasCandidate && now - _candidateAtMs >= _config.DebounceMs)
            {
                Settle(now);
            }

            // Still down: deliberate once held LongPressMs. A release that is not yet debounced
            // may be real, so the press only counts up to it.
            if (_pressed && !_pressFired)
            {
                long heldUntilMs = _hasCandidate ? _candidateAtMs : now;
                if (heldUntilMs - _pressStartMs >= _config.LongPressMs)
                {
                    FirePress(now);
                }
            }
        }

        private void OnEdge(bool pressed, long atMs, long now)
        {
            if (_hasCandidate)
            {
                // The same level again is no change: the interrupt coalesced a bounce.
                if (pressed == _candidatePressed)
                {
                    return;
                }

                // Bounce: the candidate's level did not last DebounceMs, and this edge returns to
                // the level that was.
                if (atMs - _candidateAtMs < _config.DebounceMs)
                {
                    _hasCandidate = false;
                    return;
                }

                Settle(now);
            }

            if (pressed != _pressed)
            {
                _hasCandidate = true;
                _candidatePressed = pressed;
                _candidateAtMs = atMs;
            }
        }

        private void Settle(long now)
        {
            _hasCandidate = false;
            _pressed = _candidatePressed;
            if (_pressed)
            {
                _pressStartMs = _candidateAtMs;
                _pressFired = false;
            }
            else if (!_pressFired && _candidateAtMs - _pressStartMs >= _config.LongPressMs)
            {
                // Held long enough, and let go before a tick got to it.
                FirePress(now);
            }
        }

        /// <summary>One alarm per deliberate press, however long it is held.</summary>
        private void FirePress(long now)
        {
            _pressFired = true;
            RaiseAlarm(now, _pressStartMs + _config.LongPressMs);
        }

        /// <param name="deliberateAtMs">When the press became deliberate: the Failed timer runs from there, however late the tick.</param>
        private void RaiseAlarm(long now, long deliberateAtMs)
        {
            // A full queue means the gateway has been unreachable for many presses. The queued alarms
            // (the oldest is the first call for help) are kept and resent; the LED keeps showing
            // their state, so the refusal hides nothing from the resident.
            if (_alarms.Count >= _config.MaxPendingAlarms)
            {
                AlarmsRefused++;
                return;
            }

            uint counter = _counter.Next();
            _alarms.Add(new PendingAlarm(counter, _config.EventCode, ContactIdQualifier.NewEvent, _config.Zone));
            AlarmsRaised++;
            _newestRaisedMs = deliberateAtMs;
            _backoffMs = _config.ResendInitialMs;
            _nextResendMs = now;
        }

        private void ServiceLink(long now)
        {
            bool connected = _link.IsConnected;
            if (connected && !_wasConnected)
            {
                // A fresh connection is the best moment to retry: do not wait out the backoff.
                _nextResendMs = now;
                _nextHeartbeatMs = now;
                _subscribed = false;
                _nextSubscribeMs = now;
            }

            _wasConnected = connected;
            if (connected && !_subscribed && now >= _nextSubscribeMs)
            {
                _subscribed = _link.Subscribe(_downlinkTopic, _config.PublishTimeoutMs);
                _nextSubscribeMs = now + SubscribeRetryMs;
            }
        }

        private void OnMessage(string topic, byte[] payload)
        {
            lock (_downlinkLock)
            {
                if (topic != _downlinkTopic || payload == null || _downlinks.Count >= _config.MaxQueuedDownlinks)
                {
                    DroppedDownlinks++;
                }
                else
                {
                    _downlinks.Enqueue(payload);
                }
            }
        }

        private void ProcessDownlinks()
        {
            while (true)
            {
                byte[] payload;
                lock (_downlinkLock)
                {
                    if (_downlinks.Count == 0)
                    {
                        return;
                    }

                    payload = (byte[])_downlinks.Dequeue()!;
                }

                HandleDownlink(payload);
            }
        }

        private void HandleDownlink(byte[] payload)
        {
            FrameReadResult result = _codec.Decode(payload, 0, payload.Length, _config.Key);
            if (!result.IsOk)
            {
                if (result.Error == FrameError.BadTag)
                {
                    RejectedForged++;
                }
                else
                {
                    RejectedMalformed++;
                }

                return;
            }

            Frame frame = result.Frame!;
            if (frame.Type != FrameType.Ack || frame.DeviceId != _config.DeviceId)
            {
                RejectedMalformed++;
                return;
            }

            if (!_downlinkWindow.TryAccept(frame.Counter))
            {
                RejectedReplayed++;
                return;
            }

            // The window is persisted before acting on the ack, so a reboot cannot reopen it.
            var image = new byte[4];
            BigEndian.WriteUInt32(image, 0, _downlinkWindow.Highest);
            _downlinkStorageHealthy = _storage.Write(DownlinkRecordName, image);

            AcksAccepted++;
            _alarms.Acknowledge(frame.AckedCounter, frame.AckStage);
            if (_alarms.Count == 0)
            {
                _backoffMs = _config.ResendInitialMs;
            }
        }

        private void SendDueAlarms()
        {
            if (_alarms.Count == 0 || _clock.MonotonicMs < _nextResendMs)
            {
                return;
            }

            // Oldest first, and a failure ends the round: a newer counter never reaches the gateway
            // ahead of an older alarm this device has not yet managed to hand over. The round shares
            // one PublishTimeoutMs, so a slow broker holds the loop that long, not that long per
            // alarm; what is left goes in the next round.
            if (_link.IsConnected)
            {
                long roundEndsMs = _clock.MonotonicMs + _config.PublishTimeoutMs;
                for (int i = 0; i < _alarms.Count; i++)
                {
                    long leftMs = roundEndsMs - _clock.MonotonicMs;
                    PendingAlarm alarm = _alarms[i];
                    var frame = Frame.Alarm(_config.DeviceId, alarm.Counter, alarm.EventCode, alarm.Qualifier, alarm.Zone);
                    if (leftMs <= 0 || !_link.Publish(_uplinkTopic, _codec.Encode(frame, _config.Key), true, (int)leftMs))
                    {
                        break;
                    }

                    AlarmFramesSent++;
                }
            }

            // Jitter of up to a fifth keeps a street of bells from retrying in lockstep after an outage.
            _nextResendMs = _clock.MonotonicMs + _backoffMs + _random.Next((_backoffMs / 5) + 1);
            _backoffMs = _backoffMs >= _config.ResendMaxMs / 2 ? _config.ResendMaxMs : _backoffMs * 2;
        }

        private void SendDueHeartbeat(long now)
        {
            // While an alarm awaits receipt its resends are the sign of life, and holding heartbeats
            // back keeps every later counter behind it.
            if (!_link.IsConnected || _alarms.Count > 0 || now < _nextHeartbeatMs)
            {
                return;
            }

            _nextHeartbeatMs = now + _config.HeartbeatIntervalMs;
            int rejected = RejectedTotal;
            byte flags = 0;
            if (!StorageHealthy)
            {
                flags |= FlagStorageFault;
            }

            if (rejected != _rejectedAtLastHeartbeat)
            {
                flags |= FlagDownlinkRejected;
            }

            _heartbeatPayload[0] = flags;
            _heartbeatPayload[1] = BatteryMains;
            var frame = new Frame(FrameType.Heartbeat, _config.DeviceId, _counter.Next(), ContactIdCode.None, ContactIdQualifier.None, 0, _heartbeatPayload);

            // QoS 0: a lost heartbeat is replaced by the next one, and a stale one queued at the
            // broker would only mislead supervision.
            if (_link.Publish(_uplinkTopic, _codec.Encode(frame, _config.Key), false, _config.PublishTimeoutMs))
            {
                HeartbeatsSent++;
                _rejectedAtLastHeartbeat = rejected;
            }
        }

        private void ShowLed(long now)
        {
            LedState state = LedStateFor(now);
            if (!_ledShown || state != LedState)
            {
                LedState = state;
                _ledShown = true;
                _led.Show(state);
            }
        }

        private LedState LedStateFor(long now)
        {
            if (_alarms.NewestCounter == 0)
            {
                return LedState.Idle;
            }

            if (_alarms.IndexOf(_alarms.NewestCounter) >= 0)
            {
                return now - _newestRaisedMs >= _config.FailedAfterMs ? LedState.Failed : LedState.Sending;
            }

            switch (_alarms.NewestStage)
            {
                case AckStage.Received: return LedState.ReceivedByGateway;
                case AckStage.OperatorAcknowledged: return LedState.Acknowledged;
                default: return LedState.Idle;
            }
        }
    }
}
