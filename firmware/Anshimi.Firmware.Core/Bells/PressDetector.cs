using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// Turns a button's raw, time-stamped edges into deliberate presses: edges are queued as the interrupt
    /// delivers them, debounced by their stamps and judged by how long the level was held, so a press made
    /// while the loop waits on the network counts exactly as it was made. One press per hold.
    /// </summary>
    public sealed class PressDetector
    {
        private readonly int _debounceMs;
        private readonly int _longPressMs;
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
        private int _fired;

        /// <param name="pressedSinceMs">
        /// When the button is down at start: the time its press began (a wake by this button counts from
        /// the wake, not from when the program got going), or the current time.
        /// </param>
        public PressDetector(IButtonInput button, int debounceMs, int longPressMs, int maxQueuedEdges, long pressedSinceMs)
        {
            _debounceMs = debounceMs;
            _longPressMs = longPressMs;

            // Two edges make one press, so a smaller queue could not hold even one.
            int capacity = maxQueuedEdges < 2 ? 2 : maxQueuedEdges;
            _edgePressed = new bool[capacity];
            _edgeAtMs = new long[capacity];

            // Listen first, then read the level: an edge caught in between only repeats the level, which
            // the debouncer ignores.
            button.ButtonChanged += OnButtonChanged;
            if (button.IsPressed)
            {
                OnButtonChanged(true, pressedSinceMs);
            }
        }

        /// <summary>Edges lost because too many arrived between two evaluations.</summary>
        public int DroppedEdges { get; private set; }

        /// <summary>When the last press became deliberate.</summary>
        public long DeliberateAtMs { get; private set; }

        /// <summary>The button is down or an edge is still being debounced: a sleeping device must wait.</summary>
        public bool Busy
        {
            get
            {
                lock (_edgeLock)
                {
                    return _pressed || _hasCandidate || _edgeCount > 0;
                }
            }
        }

        /// <summary>
        /// Takes the queued edges and returns how many deliberate presses they made (more than one only
        /// when the loop was held up for several presses); <see cref="DeliberateAtMs"/> is the last one's.
        /// </summary>
        public int Evaluate(long now)
        {
            _fired = 0;
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

                OnEdge(pressed, atMs);
            }

            if (_hasCandidate && now - _candidateAtMs >= _debounceMs)
            {
                Settle();
            }

            // Still down: deliberate once held LongPressMs. A release that is not yet debounced may be
            // real, so the press only counts up to it.
            if (_pressed && !_pressFired)
            {
                long heldUntilMs = _hasCandidate ? _candidateAtMs : now;
                if (heldUntilMs - _pressStartMs >= _longPressMs)
                {
                    Fire();
                }
            }

            return _fired;
        }

        private void OnButtonChanged(bool pressed, long atMonotonicMs)
        {
            lock (_edgeLock)
            {
                if (_edgeCount == _edgePressed.Length)
                {
                    // Full: the newest edge takes the last slot, so the level ends up the pin's; only what
                    // happened in between is lost.
                    _edgeCount--;
                    DroppedEdges++;
                }

                int tail = (_edgeHead + _edgeCount) % _edgePressed.Length;
                _edgePressed[tail] = pressed;
                _edgeAtMs[tail] = atMonotonicMs;
                _edgeCount++;
            }
        }

        private void OnEdge(bool pressed, long atMs)
        {
            if (_hasCandidate)
            {
                // The same level again is no change: the interrupt coalesced a bounce.
                if (pressed == _candidatePressed)
                {
                    return;
                }

                // Bounce: the candidate's level did not last DebounceMs, and this edge returns to the
                // level that was.
                if (atMs - _candidateAtMs < _debounceMs)
                {
                    _hasCandidate = false;
                    return;
                }

                Settle();
            }

            if (pressed != _pressed)
            {
                _hasCandidate = true;
                _candidatePressed = pressed;
                _candidateAtMs = atMs;
            }
        }

        private void Settle()
        {
            _hasCandidate = false;
            _pressed = _candidatePressed;
            if (_pressed)
            {
                _pressStartMs = _candidateAtMs;
                _pressFired = false;
            }
            else if (!_pressFired && _candidateAtMs - _pressStartMs >= _longPressMs)
            {
                // Held long enough, and let go before a tick got to it.
                Fire();
            }
        }

        private void Fire()
        {
            _pressFired = true;
            _fired++;
            DeliberateAtMs = _pressStartMs + _longPressMs;
        }
    }
}
