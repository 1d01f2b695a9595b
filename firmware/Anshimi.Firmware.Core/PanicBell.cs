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
    /// <see cref="IClock"/>; everything but the message handler runs on the thread that calls Tick.
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
        private readonly IButtonInput _button;
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

        private bool _rawPressed;
        private long _rawSinceMs;
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
            _button = button;
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

            // Alarms that survived a reboot go out on the first tick, with a fresh Failed timer.
            long now = clock.MonotonicMs;
            _nextResendMs = now;
            _nextHeartbeatMs = now;
            _newestRaisedMs = now;
            _backoffMs = config.ResendInitialMs;
            link.MessageReceived += OnMessage;
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
            SampleButton(now);
            ServiceLink(now);
            ProcessDownlinks();
            SendDueAlarms();
            SendDueHeartbeat(now);
            ShowLed(now);
        }

        private void SampleButton(long now)
        {
            bool raw = _button.IsPressed;
            if (raw != _rawPressed)
            {
                _rawPressed = raw;
                _rawSinceMs = now;
            }

            if (_rawPressed != _pressed && now - _rawSinceMs >= _config.DebounceMs)
            {
                _pressed = _rawPressed;
                _pressStartMs = _rawSinceMs;
                _pressFired = false;
            }

            // One alarm per deliberate press, however long it is held.
            if (_pressed && !_pressFired && now - _pressStartMs >= _config.LongPressMs)
            {
                _pressFired = true;
                RaiseAlarm(now);
            }
        }

        private void RaiseAlarm(long now)
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
            _newestRaisedMs = now;
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
            var record = new byte[4];
            BigEndian.WriteUInt32(record, 0, _downlinkWindow.Highest);
            _downlinkStorageHealthy = _storage.Write(DownlinkRecordName, record);

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
            // ahead of an older alarm this device has not yet managed to hand over.
            if (_link.IsConnected)
            {
                for (int i = 0; i < _alarms.Count; i++)
                {
                    PendingAlarm alarm = _alarms[i];
                    var frame = Frame.Alarm(_config.DeviceId, alarm.Counter, alarm.EventCode, alarm.Qualifier, alarm.Zone);
                    if (!_link.Publish(_uplinkTopic, _codec.Encode(frame, _config.Key), true, _config.PublishTimeoutMs))
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
