using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>What a device does with an ack that passed every check (tag, type, device id, freshness).</summary>
    public interface IAckReceiver
    {
        void OnAck(uint ackedCounter, AckStage stage);
    }

    /// <summary>
    /// A device's downlink: signed acks (and, in version 2, re-keys) from the gateway, over MQTT or any other path the
    /// device queues them from. Frames are queued on the thread they arrive on and checked on the device loop: they
    /// must verify under the device key, be an Ack or Rekey for this device and carry a downlink counter above the
    /// last accepted one. A re-key only records the epoch asked for (<see cref="RequestedEpoch"/>): the device moves
    /// when no alarm awaits its ack (<see cref="FrameCounter.MoveEpochIfDue"/>). That counter is persisted in the <see cref="WindowEntryName"/> flash entry
    /// before the ack is acted on, every one: a device accepts a few acks per event, too few to wear its flash,
    /// and the gateway's acks must never land in a skipped block. Everything else is dropped and counted.
    /// </summary>
    public sealed class DownlinkReceiver
    {
        public const string WindowEntryName = "downlink";

        /// <summary>The version-2 floor (key epoch and counter, protocol/README.md §10), apart from version 1's.</summary>
        public const string EpochWindowEntryName = "downlink-epoch";

        private const int SubscribeRetryMs = 5000;

        private readonly FrameSeal _seal;
        private readonly uint _deviceId;
        private readonly IAckReceiver _receiver;
        private readonly CounterFloor _window;
        private readonly EpochFloor _epochWindow;
        private readonly string _topic;
        private readonly PayloadRing _queue;
        private readonly object _lock = new object();

        private int _dropped;
        private bool _subscribed;
        private long _nextSubscribeMs;

        public DownlinkReceiver(FrameSeal seal, uint deviceId, IDeviceStorage storage, int maxQueued, IAckReceiver receiver)
        {
            _seal = seal;
            _deviceId = deviceId;
            _queue = new PayloadRing(maxQueued < 0 ? 0 : maxQueued);
            _receiver = receiver;
            _topic = Topics.DeviceDownlink(deviceId);

            _window = new CounterFloor(storage, WindowEntryName, 1);
            _epochWindow = new EpochFloor(storage, EpochWindowEntryName);
        }

        /// <summary>The MQTT topic the device's acks come on.</summary>
        public string Topic
        {
            get { return _topic; }
        }

        /// <summary>The highest downlink counter accepted, across reboots.</summary>
        public uint HighestAccepted
        {
            get { return _window.Highest; }
        }

        public int AcksAccepted { get; private set; }

        public int RekeysAccepted { get; private set; }

        /// <summary>The highest uplink key epoch a re-key frame asked for since power-up (0: none); the gateway repeats it until it sees the epoch.</summary>
        public byte RequestedEpoch { get; private set; }

        /// <summary>Downlink frames whose tag did not verify under this device's key.</summary>
        public int RejectedForged { get; private set; }

        /// <summary>Authentic downlink frames whose counter was not fresher than the last accepted one.</summary>
        public int RejectedReplayed { get; private set; }

        /// <summary>Downlink messages that were not a well-formed ack for this device.</summary>
        public int RejectedMalformed { get; private set; }

        /// <summary>Downlink messages dropped unread: on a foreign topic, or too many between two ticks.</summary>
        public int DroppedDownlinks
        {
            get
            {
                lock (_lock)
                {
                    return _dropped;
                }
            }
        }

        public int RejectedTotal
        {
            get { return RejectedForged + RejectedReplayed + RejectedMalformed + DroppedDownlinks; }
        }

        /// <summary>False after the window could not be written to flash.</summary>
        public bool StorageHealthy
        {
            get { return _window.StorageHealthy && _epochWindow.StorageHealthy; }
        }

        /// <summary>On the link's thread: queues a message from the downlink topic.</summary>
        public void OnMessage(string topic, byte[] payload)
        {
            if (topic != _topic || payload == null)
            {
                lock (_lock)
                {
                    _dropped++;
                }

                return;
            }

            Enqueue(payload);
        }

        /// <summary>From any thread: queues a frame to check on the next <see cref="ProcessQueued"/>; dropped when the queue is full.</summary>
        public void Enqueue(byte[] frame)
        {
            lock (_lock)
            {
                if (!_queue.TryEnqueue(frame))
                {
                    _dropped++;
                }
            }
        }

        /// <summary>A new session has no subscription yet: subscribe again at once.</summary>
        public void Resubscribe(long now)
        {
            _subscribed = false;
            _nextSubscribeMs = now;
        }

        /// <summary>Subscribes to <see cref="Topic"/> while connected and not yet subscribed, retrying every 5 s.</summary>
        public void KeepSubscribed(IMqttLink link, bool connected, long now, int timeoutMs)
        {
            if (connected && !_subscribed && now >= _nextSubscribeMs)
            {
                _subscribed = link.Subscribe(_topic, timeoutMs);
                _nextSubscribeMs = now + SubscribeRetryMs;
            }
        }

        /// <summary>On the device loop: checks every queued frame and hands each valid ack to the receiver.</summary>
        public void ProcessQueued()
        {
            while (true)
            {
                byte[]? payload;
                lock (_lock)
                {
                    payload = _queue.Dequeue();
                }

                if (payload == null)
                {
                    return;
                }

                Handle(payload);
            }
        }

        private void Handle(byte[] payload)
        {
            // A version-2 downlink shows no device id: one whose id does not resolve here is a neighbour's, not ours to judge.
            if (!_seal.IsAddressedHere(payload))
            {
                return;
            }

            FrameReadResult result = _seal.OpenDownlink(payload);
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
            bool rekey = frame.Type == FrameType.Rekey && frame.Version == FrameCodecV2.Version;
            if ((frame.Type != FrameType.Ack && !rekey) || frame.DeviceId != _deviceId)
            {
                RejectedMalformed++;
                return;
            }

            if (frame.Version == FrameCodecV2.Version)
            {
                // Per key epoch (§10): the floor's epoch and counter are in flash before the ack acts; an older epoch
                // is a recording from before a re-key.
                if (_epochWindow.IsRepeat(frame.Epoch, frame.Counter))
                {
                    return;
                }

                if (!_epochWindow.TryAccept(frame.Epoch, frame.Counter))
                {
                    RejectedReplayed++;
                    return;
                }

                if (rekey)
                {
                    RekeysAccepted++;
                    if (frame.Payload[0] > RequestedEpoch)
                    {
                        RequestedEpoch = frame.Payload[0];
                    }

                    return;
                }

                AcksAccepted++;
                _receiver.OnAck(frame.AckedCounter, frame.AckStage);
                return;
            }

            // The gateway advertises each ack for many intervals: the last accepted counter again is that repeat,
            // neither news nor a replay, and is not counted (it would keep the heartbeat's rejected bit set).
            if (_window.IsRepeat(frame.Counter))
            {
                return;
            }

            // One downlink counter per device whichever way the ack came, so an ack heard over BLE cannot
            // be replayed over MQTT or the other way round. The floor is in flash before the ack acts.
            if (!_window.TryAccept(frame.Counter))
            {
                RejectedReplayed++;
                return;
            }

            AcksAccepted++;
            _receiver.OnAck(frame.AckedCounter, frame.AckStage);
        }
    }
}
