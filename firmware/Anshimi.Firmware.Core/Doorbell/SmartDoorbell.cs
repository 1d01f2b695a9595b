using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Doorbell
{
    /// <summary>
    /// The smart doorbell's device logic (스마트초인종), driven by <see cref="Tick"/> from the device loop.
    /// Ring (status event 901 and the chime), PIR motion with loitering detection (150, once per episode),
    /// the inside emergency button (120), the door station's tamper switch (383 and restore), and a camera
    /// snapshot on ring, loitering and emergency. Every event takes the panic bell's alarm path: it is
    /// written to flash (<see cref="AlarmStore"/>) before it is sent and resent until the gateway's signed
    /// ack. Snapshots follow as signed chunk frames once no event is pending, stay in flash until the
    /// gateway's stage-4 ack, and are sent again after a dropped connection or when that ack is late.
    /// </summary>
    public sealed class SmartDoorbell : IAckReceiver, Ota.IUpdateHold
    {
        public const string DownlinkRecordName = DownlinkReceiver.WindowEntryName;
        public const string StateRecordName = "doorbell";

        /// <summary>
        /// Where the doorbell's counter wraps (protocol/README.md §10): a snapshot's chunks cannot cross an epoch (their
        /// snapshot id is a counter of the epoch they are sealed in), so it moves once nothing awaits an ack, with a
        /// million counters of room for the snapshots in flight, instead of the 255 a bell keeps.
        /// </summary>
        public const uint WrapAt = 0xFFF00000;

        private const byte StateVersion = 1;
        private const int StateLength = 7;

        // Two places in the event queue stay free for the emergency button: a street of rings must never refuse a call for help.
        private const int EmergencyReserve = 2;

        private readonly DoorbellConfig _config;
        private readonly IClock _clock;
        private readonly IDeviceStorage _storage;
        private readonly IMqttLink _link;
        private readonly IRandom _random;
        private readonly ICamera _camera;
        private readonly FrameSeal _seal;
        private readonly FrameCounter _counter;
        private readonly AlarmStore _events;
        private readonly SnapshotQueue _snapshots;
        private readonly DownlinkReceiver _downlinks;
        private readonly AlarmDelivery _delivery;
        private readonly Heartbeat _heartbeat;
        private readonly AlarmLed _alarmLed;
        private readonly Chime _chime;
        private readonly DebouncedInput _ring;
        private readonly DebouncedInput _emergency;
        private readonly DebouncedInput _motion;
        private readonly DebouncedInput _tamper;
        private readonly string _uplinkTopic;
        private readonly byte[] _manifest = new byte[FramePayloads.SnapshotManifestLength];

        private long _now;
        private bool _wasConnected;
        private bool _stateStorageHealthy = true;

        // Persisted: the newest emergency alarm and how far it got, and whether tamper was last reported open.
        private uint _emergencyCounter;
        private AckStage _emergencyStage;
        private bool _tamperReported;
        private long _emergencyRaisedMs;
        private bool _emergencyFired;

        private bool _hasRung;
        private long _lastRingMs;

        private bool _episode;
        private long _episodeStartMs;
        private long _lastMotionMs;
        private bool _episodeRang;
        private bool _episodeLoitered;

        // The snapshot being sent: its id, image, the next chunk to send and when its stage-4 ack is overdue.
        private uint _sendingId;
        private byte[]? _sendingImage;
        private int _cursor;
        private long _ackDueMs;
        private int _snapshotWaitMs;

        public SmartDoorbell(DoorbellConfig config, IClock clock, IButtonInput ring, IButtonInput emergency, IButtonInput motion, IButtonInput tamper, IPwmOutput chime, ICamera camera, IStatusLed led, IDeviceStorage storage, IMqttLink link, IHmacSha256 mac, IRandom random)
        {
            _config = config;
            _clock = clock;
            _storage = storage;
            _link = link;
            _random = random;
            _camera = camera;
            _seal = new FrameSeal(mac, config.Key, config.DeviceId, config.FrameVersion);
            _counter = new FrameCounter(storage, config.CounterBlockSize, WrapAt);
            _seal.MoveUplinkTo(_counter.Epoch);
            _events = new AlarmStore(storage);
            _snapshots = new SnapshotQueue(storage, config.MaxPendingSnapshots, config.MaxSnapshotBytes);
            _downlinks = new DownlinkReceiver(_seal, config.DeviceId, storage, config.MaxQueuedDownlinks, this);
            _delivery = new AlarmDelivery(_events, link, _seal, config.DeviceId, clock, random, config.ResendInitialMs, config.ResendMaxMs, config.PublishTimeoutMs);
            _heartbeat = new Heartbeat(_events, link, _seal, config.DeviceId, _counter, _downlinks, clock, config.HeartbeatIntervalMs, config.PublishTimeoutMs);
            _alarmLed = new AlarmLed(led, _events, config.FailedAfterMs);
            LoadState();
            _uplinkTopic = Topics.DeviceUplink(config.DeviceId);
            _chime = new Chime(chime);

            long now = clock.MonotonicMs;
            _now = now;
            _emergencyRaisedMs = now;
            _snapshotWaitMs = config.SnapshotAckTimeoutMs;
            link.MessageReceived += _downlinks.OnMessage;

            _ring = new DebouncedInput(ring, config.DebounceMs, config.MaxQueuedEdges, now);
            _ring.Settled += OnRing;
            _emergency = new DebouncedInput(emergency, config.DebounceMs, config.MaxQueuedEdges, now);
            _emergency.Settled += OnEmergency;
            _motion = new DebouncedInput(motion, config.DebounceMs, config.MaxQueuedEdges, now);
            _motion.Settled += OnMotion;
            _tamper = new DebouncedInput(tamper, config.DebounceMs, config.MaxQueuedEdges, now);
            _tamper.Settled += OnTamper;
        }

        public LedState LedState
        {
            get { return _alarmLed.State; }
        }

        public int PendingEventCount
        {
            get { return _events.Count; }
        }

        /// <summary>An event not yet received by the gateway holds an update (protocol/README.md §11.3).</summary>
        public bool HoldsUpdate
        {
            get { return _events.Count > 0; }
        }

        public int PendingSnapshotCount
        {
            get { return _snapshots.Count; }
        }

        public uint NextCounter
        {
            get { return _counter.Peek; }
        }

        /// <summary>The key epoch the doorbell's uplinks are sealed in (protocol/README.md §10, re-key).</summary>
        public byte KeyEpoch
        {
            get { return _counter.Epoch; }
        }

        /// <summary>Counter of the newest emergency alarm (0 when none), across reboots.</summary>
        public uint EmergencyCounter
        {
            get { return _emergencyCounter; }
        }

        public int EventsRaised { get; private set; }

        /// <summary>Events refused because the pending queue was full.</summary>
        public int EventsRefused { get; private set; }

        public int Rings { get; private set; }

        /// <summary>Rings that chimed but came too soon after the last to make an event.</summary>
        public int RingsSuppressed { get; private set; }

        public int LoiteringRaised { get; private set; }

        public int EventFramesSent
        {
            get { return _delivery.FramesSent; }
        }

        public int ChunksSent { get; private set; }

        public int SnapshotsTaken { get; private set; }

        /// <summary>Snapshots the gateway confirmed whole (stage-4 ack).</summary>
        public int SnapshotsDelivered { get; private set; }

        /// <summary>Times a whole snapshot went out again because its stage-4 ack was late.</summary>
        public int SnapshotResends { get; private set; }

        public int CameraFailures { get; private set; }

        /// <summary>Snapshots dropped for lack of flash (rings first) or refused.</summary>
        public int SnapshotsDropped
        {
            get { return _snapshots.Dropped; }
        }

        public int ChimePlays
        {
            get { return _chime.Plays; }
        }

        public bool ChimePlaying
        {
            get { return _chime.IsPlaying; }
        }

        public int HeartbeatsSent
        {
            get { return _heartbeat.Sent; }
        }

        /// <summary>Acks in: accepted, and what was forged, replayed, malformed or dropped.</summary>
        public DownlinkReceiver Downlinks
        {
            get { return _downlinks; }
        }

        public int DroppedEdges
        {
            get { return _ring.DroppedEdges + _emergency.DroppedEdges + _motion.DroppedEdges + _tamper.DroppedEdges; }
        }

        public bool StorageHealthy
        {
            get { return _counter.StorageHealthy && _events.StorageHealthy && _snapshots.StorageHealthy && _downlinks.StorageHealthy && _stateStorageHealthy; }
        }

        public void Tick()
        {
            long now = _clock.MonotonicMs;
            _now = now;
            _ring.Update(now);
            _emergency.Update(now);
            _motion.Update(now);
            _tamper.Update(now);
            CheckEmergencyHold(now);
            CheckLoitering(now);
            _chime.Update(now);
            ServiceLink(now);
            _downlinks.ProcessQueued();
            MoveEpochIfDue();
            _delivery.SendDue();
            SendDueChunks();
            _heartbeat.SendDue(now, StorageHealthy, Heartbeat.NoBatteryReading);

            // The indoor LED speaks of the emergency alarm only: rings and visitors are not the resident's call for help.
            _alarmLed.Show(now, _emergencyCounter, _emergencyStage, _emergencyRaisedMs);
        }

        private void OnRing(bool active, long atMs)
        {
            if (!active)
            {
                return;
            }

            // The chime answers every press, network or not; the event and picture at most once per RingRepeatMs.
            Rings++;
            _chime.Play(_now);
            if (_episode)
            {
                _episodeRang = true;
            }

            if (_hasRung && atMs - _lastRingMs < _config.RingRepeatMs)
            {
                RingsSuppressed++;
                return;
            }

            _hasRung = true;
            _lastRingMs = atMs;
            Raise(ContactIdCode.DoorbellRing, ContactIdQualifier.StatusReport, _config.RingZone, true);
        }

        private void OnEmergency(bool active, long atMs)
        {
            if (active)
            {
                _emergencyFired = false;
            }
            else if (!_emergencyFired && atMs - _emergency.SinceMs >= _config.EmergencyHoldMs)
            {
                // Held long enough and let go before a tick got to it. SinceMs is still the press here.
                FireEmergency();
            }
        }

        private void CheckEmergencyHold(long now)
        {
            if (_emergency.Active && !_emergencyFired && _emergency.LastsUntil(now) - _emergency.SinceMs >= _config.EmergencyHoldMs)
            {
                FireEmergency();
            }
        }

        private void FireEmergency()
        {
            _emergencyFired = true;
            uint counter = Raise(ContactIdCode.Panic, ContactIdQualifier.NewEvent, _config.EmergencyZone, true);
            if (counter != 0)
            {
                _emergencyCounter = counter;
                _emergencyStage = 0;
                _emergencyRaisedMs = _emergency.SinceMs + _config.EmergencyHoldMs;
                SaveState();
            }
        }

        private void OnMotion(bool active, long atMs)
        {
            _lastMotionMs = atMs;
            if (active && !_episode)
            {
                _episode = true;
                _episodeStartMs = atMs;
                _episodeRang = false;
                _episodeLoitered = false;
            }
        }

        private void CheckLoitering(long now)
        {
            if (!_episode)
            {
                return;
            }

            long seenUntil = _motion.Active ? now : _lastMotionMs;
            if (!_motion.Active && now - _lastMotionMs >= _config.RearmQuietMs)
            {
                // Quiet long enough: the visitor left. The next motion is a new episode.
                _episode = false;
                return;
            }

            bool present = _motion.Active || now - _lastMotionMs < _config.MotionGapMs;
            if (present && !_episodeLoitered && !_episodeRang && seenUntil - _episodeStartMs >= _config.LoiterMs)
            {
                _episodeLoitered = true;
                if (Raise(ContactIdCode.Loitering, ContactIdQualifier.NewEvent, _config.MotionZone, true) != 0)
                {
                    LoiteringRaised++;
                }
            }
        }

        private void OnTamper(bool active, long atMs)
        {
            // Persisted, so a station still open after a reboot is not reported twice.
            if (active == _tamperReported)
            {
                return;
            }

            if (Raise(_config.TamperCode, active ? ContactIdQualifier.NewEvent : ContactIdQualifier.Restore, _config.TamperZone, false) != 0)
            {
                _tamperReported = active;
                SaveState();
            }
        }

        /// <summary>Persists the event, then takes its picture; returns its counter, or 0 when the queue refused it.</summary>
        private uint Raise(ushort code, byte qualifier, ushort zone, bool snapshot)
        {
            int limit = code == ContactIdCode.Panic ? _config.MaxPendingEvents : _config.MaxPendingEvents - EmergencyReserve;
            if (_events.Count >= limit)
            {
                EventsRefused++;
                return 0;
            }

            MoveEpochIfDue();
            uint counter = _counter.Next();
            _events.Add(new PendingAlarm(counter, code, qualifier, zone));
            EventsRaised++;
            _delivery.Restart(_now);
            if (snapshot)
            {
                TakeSnapshot(counter, code, qualifier, zone);
            }

            return counter;
        }

        /// <summary>A re-key asked for, or the wrap: moves only while no event and no snapshot awaits its ack (§10).</summary>
        private void MoveEpochIfDue()
        {
            if (_counter.MoveEpochIfDue(_downlinks.RequestedEpoch, _events.Count == 0 && _snapshots.Count == 0))
            {
                _seal.MoveUplinkTo(_counter.Epoch);
            }
        }

        private void TakeSnapshot(uint counter, ushort code, byte qualifier, ushort zone)
        {
            byte[]? image = _camera.Capture();
            if (image == null || image.Length == 0)
            {
                CameraFailures++;
                return;
            }

            if (_snapshots.Add(counter, code, qualifier, zone, image))
            {
                SnapshotsTaken++;
            }

            // A dropped victim may have been the one on the wire.
            if (_sendingId != 0 && _snapshots.IndexOf(_sendingId) < 0)
            {
                ForgetSending();
            }
        }

        private void ServiceLink(long now)
        {
            bool connected = _link.IsConnected;
            if (connected && !_wasConnected)
            {
                // After a drop nothing in flight can be trusted: every unconfirmed chunk goes again.
                _delivery.SendNow(now);
                _heartbeat.SendNow(now);
                _downlinks.Resubscribe(now);
                _cursor = 0;
                _snapshotWaitMs = _config.SnapshotAckTimeoutMs;
            }

            _wasConnected = connected;
            _downlinks.KeepSubscribed(_link, connected, now, _config.PublishTimeoutMs);
        }

        void IAckReceiver.OnAck(uint acked, AckStage stage)
        {
            if (stage == AckStage.SnapshotStored)
            {
                // The acked counter names a snapshot here, never an event: an event keeps waiting for its own ack.
                if (_snapshots.Remove(acked))
                {
                    SnapshotsDelivered++;
                    if (acked == _sendingId)
                    {
                        ForgetSending();
                    }
                }

                return;
            }

            _events.Acknowledge(acked, stage);
            if (_events.Count == 0)
            {
                _delivery.ResetBackoff();
            }

            if (acked == _emergencyCounter && stage > _emergencyStage)
            {
                _emergencyStage = stage;
                SaveState();
            }
        }

        private void SendDueChunks()
        {
            // Chunks wait while an event is unconfirmed: the event first, and no chunk counter overtakes it.
            if (!_link.IsConnected || _events.Count > 0 || _snapshots.Count == 0)
            {
                return;
            }

            PendingSnapshot snapshot = _snapshots[0];
            if (snapshot.SnapshotId != _sendingId || _sendingImage == null)
            {
                _sendingImage = _snapshots.ReadImage(snapshot);
                if (_sendingImage == null)
                {
                    ForgetSending();
                    return;
                }

                _sendingId = snapshot.SnapshotId;
                _cursor = 0;
                _snapshotWaitMs = _config.SnapshotAckTimeoutMs;
            }

            int count = snapshot.ChunkCount;
            if (_cursor >= count)
            {
                if (_clock.MonotonicMs < _ackDueMs)
                {
                    return;
                }

                // No stage-4 ack in time: a chunk was lost on the way. Everything goes again; the gateway drops what it has.
                SnapshotResends++;
                _cursor = 0;
                _snapshotWaitMs = _snapshotWaitMs >= _config.ResendMaxMs / 2 ? _config.ResendMaxMs : _snapshotWaitMs * 2;
            }

            long roundEndsMs = _clock.MonotonicMs + _config.PublishTimeoutMs;
            for (int sent = 0; sent < _config.ChunksPerTick && _cursor < count; sent++)
            {
                long leftMs = roundEndsMs - _clock.MonotonicMs;
                if (leftMs <= 0 || !_link.Publish(_uplinkTopic, _seal.Seal(Chunk(snapshot, _sendingImage, _cursor)), true, (int)leftMs))
                {
                    return;
                }

                ChunksSent++;
                _cursor++;
            }

            if (_cursor >= count)
            {
                _ackDueMs = _clock.MonotonicMs + _snapshotWaitMs;
            }
        }

        private Frame Chunk(PendingSnapshot snapshot, byte[] image, int index)
        {
            ushort count = (ushort)snapshot.ChunkCount;
            if (index == 0)
            {
                BigEndian.WriteUInt32(_manifest, 0, (uint)snapshot.Length);
                System.Array.Copy(snapshot.Sha256, 0, _manifest, 4, Sha256.HashLength);
                return FramePayloads.SnapshotChunk(_config.DeviceId, _counter.Next(), snapshot.EventCode, snapshot.Qualifier, snapshot.Zone, snapshot.SnapshotId, 0, count, _manifest, 0, _manifest.Length);
            }

            int offset = (index - 1) * FramePayloads.MaxSnapshotDataLength;
            int length = image.Length - offset < FramePayloads.MaxSnapshotDataLength ? image.Length - offset : FramePayloads.MaxSnapshotDataLength;
            return FramePayloads.SnapshotChunk(_config.DeviceId, _counter.Next(), snapshot.EventCode, snapshot.Qualifier, snapshot.Zone, snapshot.SnapshotId, (ushort)index, count, image, offset, length);
        }

        private void ForgetSending()
        {
            _sendingId = 0;
            _sendingImage = null;
            _cursor = 0;
            _snapshotWaitMs = _config.SnapshotAckTimeoutMs;
        }

        private void SaveState()
        {
            var image = new byte[StateLength];
            image[0] = StateVersion;
            BigEndian.WriteUInt32(image, 1, _emergencyCounter);
            image[5] = (byte)_emergencyStage;
            image[6] = _tamperReported ? (byte)1 : (byte)0;
            _stateStorageHealthy = _storage.Write(StateRecordName, image);
        }

        private void LoadState()
        {
            byte[]? image = _storage.Read(StateRecordName);
            if (image == null || image.Length != StateLength || image[0] != StateVersion)
            {
                return;
            }

            _emergencyCounter = BigEndian.ReadUInt32(image, 1);
            _emergencyStage = image[5] <= (byte)AckStage.Resolved ? (AckStage)image[5] : 0;
            _tamperReported = image[6] == 1;
        }
    }
}
