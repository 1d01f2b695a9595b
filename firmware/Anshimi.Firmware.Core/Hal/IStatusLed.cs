namespace Anshimi.Firmware.Hal
{
    /// <summary>What the bell's LED tells the resident about the newest alarm.</summary>
    public enum LedState : byte
    {
        Idle = 0,

        /// <summary>An alarm is being sent and the gateway has not confirmed it yet.</summary>
        Sending = 1,

        /// <summary>The gateway has stored the alarm.</summary>
        ReceivedByGateway = 2,

        /// <summary>An operator has acknowledged it: help is on the way.</summary>
        Acknowledged = 3,

        /// <summary>No gateway receipt for too long; the bell keeps resending regardless.</summary>
        Failed = 4,
    }

    /// <summary>Stable lower-case names for LED states (enum names are never used as text).</summary>
    public static class LedStateName
    {
        public static string Of(LedState state)
        {
            switch (state)
            {
                case LedState.Idle: return "idle";
                case LedState.Sending: return "sending";
                case LedState.ReceivedByGateway: return "received";
                case LedState.Acknowledged: return "acknowledged";
                case LedState.Failed: return "failed";
                default: return "unknown";
            }
        }
    }

    /// <summary>Drives the LED (colour, blink pattern) for a state; called only when the state changes.</summary>
    public interface IStatusLed
    {
        void Show(LedState state);
    }
}
