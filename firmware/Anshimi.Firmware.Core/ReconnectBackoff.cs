using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware
{
    /// <summary>
    /// How long a device waits before its next attempt to reach the broker: the same policy as every host client
    /// (mqtt/README.md), written for nanoFramework. A step starts at <see cref="DefaultInitialMs"/> and doubles after
    /// every failed attempt up to <see cref="DefaultMaxMs"/>; each wait is drawn between zero and the step ("full
    /// jitter"). A broker restart drops a whole street of devices at once: the jitter spreads their return, and the
    /// cap brings each back within a second of the broker. The steps start again only after a connection that held
    /// for <see cref="StableAfterMs"/>, so a broker that keeps crashing is not hammered at the shortest wait.
    /// </summary>
    public sealed class ReconnectBackoff
    {
        public const int DefaultInitialMs = 100;
        public const int DefaultMaxMs = 1000;
        public const int StableAfterMs = 10000;

        private readonly IRandom _random;
        private readonly int _initialMs;
        private readonly int _maxMs;
        private int _stepMs;
        private long _connectedAtMs = -1;

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

        /// <summary>The step the next wait is drawn from (the wait is between zero and it).</summary>
        public int StepMs
        {
            get { return _stepMs; }
        }

        /// <summary>The wait before the next attempt, in [0, step]; the step then doubles, up to the cap.</summary>
        public int NextDelayMs(long nowMs)
        {
            if (_connectedAtMs >= 0 && nowMs - _connectedAtMs >= StableAfterMs)
            {
                _stepMs = _initialMs;
            }

            _connectedAtMs = -1;
            int step = _stepMs;
            _stepMs = step >= _maxMs / 2 ? _maxMs : step * 2;
            return _random.Next(step + 1);
        }

        /// <summary>A connection succeeded at <paramref name="nowMs"/>; once it has held for StableAfterMs the next outage starts from the first step.</summary>
        public void Connected(long nowMs)
        {
            _connectedAtMs = nowMs;
        }
    }
}
