using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// A device's sign of life: a heartbeat frame, payload <c>[flags, battery]</c>, sent over MQTT every
    /// interval while connected and no event awaits its ack, or taken for another path. The flags say that a
    /// flash write failed and that downlink frames were rejected since the last heartbeat that went out.
    /// </summary>
    public sealed class Heartbeat
    {
        /// <summary>Flag: a flash write failed.</summary>
        public const byte FlagStorageFault = FramePayloads.HeartbeatFlagStorageFault;

        /// <summary>Flag: downlink frames were rejected since the last heartbeat (forgery or replay attempts).</summary>
        public const byte FlagDownlinkRejected = FramePayloads.HeartbeatFlagDownlinkRejected;

        /// <summary>Battery byte of a mains-powered device.</summary>
        public const byte BatteryMains = FramePayloads.HeartbeatMainsPowered;

        /// <summary>The battery percent of a device without a battery reading: sent as <see cref="BatteryMains"/>.</summary>
        public const int NoBatteryReading = -1;

        private readonly AlarmStore _events;
        private readonly IMqttLink? _link;
        private readonly FrameSeal _seal;
        private readonly uint _deviceId;
        private readonly FrameCounter _counter;
        private readonly DownlinkReceiver _downlinks;
        private readonly int _intervalMs;
        private readonly int _publishTimeoutMs;
        private readonly string _uplinkTopic;
        private readonly byte[] _payload = new byte[2];

        private long _nextMs;
        private int _rejectedAtLastSent;

        /// <param name="link">The MQTT session, or null on a device without one (heartbeats only go by <see cref="TakeFrame"/>).</param>
        public Heartbeat(AlarmStore events, IMqttLink? link, FrameSeal seal, uint deviceId, FrameCounter counter, DownlinkReceiver downlinks, IClock clock, int intervalMs, int publishTimeoutMs)
        {
            _events = events;
            _link = link;
            _seal = seal;
            _deviceId = deviceId;
            _counter = counter;
            _downlinks = downlinks;
            _intervalMs = intervalMs;
            _publishTimeoutMs = publishTimeoutMs;
            _uplinkTopic = Topics.DeviceUplink(deviceId);
            _nextMs = clock.MonotonicMs;
        }

        /// <summary>Heartbeats published, and those taken for another path.</summary>
        public int Sent { get; private set; }

        /// <summary>A fresh connection: the next heartbeat goes at once.</summary>
        public void SendNow(long now)
        {
            _nextMs = now;
        }

        /// <param name="batteryPercent">The battery's charge, or <see cref="NoBatteryReading"/>.</param>
        public void SendDue(long now, bool storageHealthy, int batteryPercent)
        {
            // While an event awaits receipt its resends are the sign of life, and holding heartbeats
            // back keeps every later counter behind it.
            if (_link == null || !_link.IsConnected || _events.Count > 0 || now < _nextMs)
            {
                return;
            }

            _nextMs = now + _intervalMs;
            int rejected = _downlinks.RejectedTotal;
            Frame frame = Build(rejected, storageHealthy, batteryPercent);

            // QoS 0: a lost heartbeat is replaced by the next one, and a stale one queued at the
            // broker would only mislead supervision. One not delivered leaves the rejections to report.
            if (_link.Publish(_uplinkTopic, _seal.Seal(frame), false, _publishTimeoutMs))
            {
                Sent++;
                _rejectedAtLastSent = rejected;
            }
        }

        /// <summary>The next heartbeat for a path that cannot tell whether it arrived (a BLE advertisement): counted as sent.</summary>
        public Frame TakeFrame(bool storageHealthy, int batteryPercent)
        {
            int rejected = _downlinks.RejectedTotal;
            Frame frame = Build(rejected, storageHealthy, batteryPercent);
            Sent++;
            _rejectedAtLastSent = rejected;
            return frame;
        }

        private Frame Build(int rejected, bool storageHealthy, int batteryPercent)
        {
            byte flags = 0;
            if (!storageHealthy)
            {
                flags |= FlagStorageFault;
            }

            if (rejected != _rejectedAtLastSent)
            {
                flags |= FlagDownlinkRejected;
            }

            _payload[0] = flags;
            // A reading above full still says full: the gateway refuses a battery byte over 100 that is not mains.
            _payload[1] = batteryPercent < 0 ? BatteryMains : batteryPercent > FramePayloads.MaxLevel ? FramePayloads.MaxLevel : (byte)batteryPercent;
            return new Frame(FrameType.Heartbeat, _deviceId, _counter.Next(), ContactIdCode.None, ContactIdQualifier.None, 0, _payload);
        }
    }
}
