using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// Sends a device's pending events (<see cref="AlarmStore"/>) over MQTT at QoS 1 until the gateway
    /// acks them: oldest first, in rounds that share one publish timeout, with a doubling backoff plus up
    /// to a fifth of jitter between rounds. The events stay in the store; this only decides when and how
    /// they go out.
    /// </summary>
    public sealed class AlarmDelivery
    {
        private readonly AlarmStore _alarms;
        private readonly IMqttLink? _link;
        private readonly FrameSeal _seal;
        private readonly uint _deviceId;
        private readonly IClock _clock;
        private readonly IRandom _random;
        private readonly int _initialMs;
        private readonly int _maxMs;
        private readonly int _publishTimeoutMs;
        private readonly string _uplinkTopic;

        private long _nextResendMs;
        private int _backoffMs;

        /// <param name="link">The MQTT session, or null on a device without one (nothing is sent).</param>
        public AlarmDelivery(AlarmStore alarms, IMqttLink? link, FrameSeal seal, uint deviceId, IClock clock, IRandom random, int initialMs, int maxMs, int publishTimeoutMs)
        {
            _alarms = alarms;
            _link = link;
            _seal = seal;
            _deviceId = deviceId;
            _clock = clock;
            _random = random;
            _initialMs = initialMs;
            _maxMs = maxMs;
            _publishTimeoutMs = publishTimeoutMs;
            _uplinkTopic = Topics.DeviceUplink(deviceId);

            // Events that survived a reboot go out on the first round.
            _nextResendMs = clock.MonotonicMs;
            _backoffMs = initialMs;
        }

        /// <summary>Event frames handed to the broker (first sends and resends).</summary>
        public int FramesSent { get; private set; }

        /// <summary>The wait after the next round, before its jitter.</summary>
        public int BackoffMs
        {
            get { return _backoffMs; }
        }

        /// <summary>When the next round is due (monotonic ms).</summary>
        public long NextRoundMs
        {
            get { return _nextResendMs; }
        }

        public static Frame AlarmFrame(uint deviceId, PendingAlarm alarm)
        {
            return Frame.Alarm(deviceId, alarm.Counter, alarm.EventCode, alarm.Qualifier, alarm.Zone);
        }

        /// <summary>A new event: send at once and start the backoff afresh.</summary>
        public void Restart(long now)
        {
            _backoffMs = _initialMs;
            _nextResendMs = now;
        }

        /// <summary>A fresh connection is the best moment to retry: skip what is left of the backoff.</summary>
        public void SendNow(long now)
        {
            _nextResendMs = now;
        }

        /// <summary>Everything acked: the next event starts from the shortest wait.</summary>
        public void ResetBackoff()
        {
            _backoffMs = _initialMs;
        }

        /// <summary>Runs a round when one is due and events are pending.</summary>
        public void SendDue()
        {
            if (_link == null || _alarms.Count == 0 || _clock.MonotonicMs < _nextResendMs)
            {
                return;
            }

            // Oldest first, and a failure ends the round: a newer counter never reaches the gateway
            // ahead of an older event this device has not yet managed to hand over. The round shares
            // one publish timeout, so a slow broker holds the loop that long, not that long per
            // event; what is left goes in the next round.
            if (_link.IsConnected)
            {
                long roundEndsMs = _clock.MonotonicMs + _publishTimeoutMs;
                for (int i = 0; i < _alarms.Count; i++)
                {
                    long leftMs = roundEndsMs - _clock.MonotonicMs;
                    if (leftMs <= 0 || !_link.Publish(_uplinkTopic, _seal.Seal(AlarmFrame(_deviceId, _alarms[i])), true, (int)leftMs))
                    {
                        break;
                    }

                    FramesSent++;
                }
            }

            // Jitter of up to a fifth keeps a street of devices from retrying in lockstep after an outage.
            _nextResendMs = _clock.MonotonicMs + _backoffMs + _random.Next((_backoffMs / 5) + 1);
            _backoffMs = _backoffMs >= _maxMs / 2 ? _maxMs : _backoffMs * 2;
        }
    }
}
