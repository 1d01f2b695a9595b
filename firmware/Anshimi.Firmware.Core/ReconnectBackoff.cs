using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware
{
    /// <summary>
    /// How long a device waits before its next attempt to reach the broker: a step that starts at
    /// <see cref="DefaultInitialMs"/> and doubles after every failed attempt up to <see cref="DefaultMaxMs"/>,
    /// each wait a random time between half the step and the whole step. A broker restart drops a whole
    /// street of devices at once; the jitter spreads their return, the cap brings them back within seconds,
    /// and the half-step floor keeps a dead broker from being hammered. <see cref="Reset"/> after a good
    /// connection starts the next outage from the first step again.
    /// </summary>
    public sealed class ReconnectBackoff
    {
        public const int DefaultInitialMs = 500;
        public const int DefaultMaxMs = 5000;

        private readonly IRandom _random;
        private readonly int _initialMs;
        private readonly int _maxMs;
        private int _stepMs;

        public ReconnectBackoff(IRandom random)
            : this(random, DefaultInitialMs, DefaultMaxMs)
        {
        }

        public ReconnectBackoff(IRandom random, int initialMs, int maxMs)
        {
            if (initialMs < 1 || maxMs < initialMs)
            {
                throw new System.ArgumentOutOfRangeException(nameof(initialMs), "need 1 <= initialMs <= maxMs");
            }

            _random = random;
            _initialMs = initialMs;
            _maxMs = maxMs;
            _stepMs = initialMs;
        }

        /// <summary>The step the next wait is drawn from (the wait is between half of it and all of it).</summary>
        public int StepMs
        {
            get { return _stepMs; }
        }

        /// <summary>The wait before the next attempt, in [step/2, step]; the step then doubles, up to the cap.</summary>
        public int NextDelayMs()
        {
            int step = _stepMs;
            _stepMs = step >= _maxMs / 2 ? _maxMs : step * 2;
            int half = step / 2;
            return step - half + _random.Next(half + 1);
        }

        /// <summary>After a good connection: the next outage starts from the first step.</summary>
        public void Reset()
        {
            _stepMs = _initialMs;
        }
    }
}
