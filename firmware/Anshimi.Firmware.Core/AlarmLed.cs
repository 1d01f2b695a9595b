using Anshimi.Firmware.Hal;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// The status LED as the resident reads it: how far their alarm got. Sending while it waits in the
    /// queue (Failed once that has lasted too long), then the stage of its ack, Idle when resolved or when
    /// there is none. The LED is written only when that changes.
    /// </summary>
    public sealed class AlarmLed
    {
        private readonly IStatusLed _led;
        private readonly AlarmStore _queue;
        private readonly int _failedAfterMs;
        private bool _shown;

        public AlarmLed(IStatusLed led, AlarmStore queue, int failedAfterMs)
        {
            _led = led;
            _queue = queue;
            _failedAfterMs = failedAfterMs;
        }

        public LedState State { get; private set; }

        /// <param name="counter">The alarm the LED speaks of, 0 for none.</param>
        /// <param name="stage">The newest ack stage it has had.</param>
        /// <param name="raisedMs">When it was raised: the Failed timer runs from there.</param>
        public void Show(long now, uint counter, AckStage stage, long raisedMs)
        {
            LedState state = StateFor(now, counter, stage, raisedMs);
            if (!_shown || state != State)
            {
                State = state;
                _shown = true;
                _led.Show(state);
            }
        }

        private LedState StateFor(long now, uint counter, AckStage stage, long raisedMs)
        {
            if (counter == 0)
            {
                return LedState.Idle;
            }

            if (_queue.IndexOf(counter) >= 0)
            {
                return now - raisedMs >= _failedAfterMs ? LedState.Failed : LedState.Sending;
            }

            switch (stage)
            {
                case AckStage.Received: return LedState.ReceivedByGateway;
                case AckStage.OperatorAcknowledged: return LedState.Acknowledged;
                default: return LedState.Idle;
            }
        }
    }
}
