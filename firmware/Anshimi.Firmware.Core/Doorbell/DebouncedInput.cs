using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Doorbell
{
    /// <summary>A settled change of an input: its new level and when the edge that led to it happened.</summary>
    public delegate void InputSettledHandler(bool active, long atMs);

    /// <summary>
    /// Debounces one input pin by the time stamps of its edges (as <see cref="IButtonInput"/> delivers
    /// them): an edge sooner than the debounce time after the previous one is bounce. Edges are queued on
    /// the input's thread and judged on the loop's thread in <see cref="Update"/>, so a level change that
    /// happened while the loop waited on the network is seen exactly as it happened.
    /// </summary>
    public sealed class DebouncedInput
    {
        private readonly int _debounceMs;
        private readonly object _lock = new object();
        private readonly bool[] _edgeActive;
        private readonly long[] _edgeAtMs;
        private int _head;
        private int _count;

        private bool _hasCandidate;
        private bool _candidateActive;
        private long _candidateAtMs;

        public DebouncedInput(IButtonInput input, int debounceMs, int capacity, long nowMs)
        {
            _debounceMs = debounceMs;
            int size = capacity < 2 ? 2 : capacity;
            _edgeActive = new bool[size];
            _edgeAtMs = new long[size];
            input.ButtonChanged += OnChanged;
            if (input.IsPressed)
            {
                OnChanged(true, nowMs);
            }
        }

        /// <summary>Raised from <see cref="Update"/> for each settled change, oldest first.</summary>
        public event InputSettledHandler? Settled;

        public bool Active { get; private set; }

        /// <summary>When the current settled level began.</summary>
        public long SinceMs { get; private set; }

        /// <summary>Edges lost because too many arrived between two updates.</summary>
        public int DroppedEdges { get; private set; }

        /// <summary>
        /// Until when the settled level is known to have lasted: the stamp of a change not yet debounced
        /// (it may be real), otherwise now.
        /// </summary>
        public long LastsUntil(long nowMs)
        {
            return _hasCandidate ? _candidateAtMs : nowMs;
        }

        public void Update(long nowMs)
        {
            while (true)
            {
                bool active;
                long atMs;
                lock (_lock)
                {
                    if (_count == 0)
                    {
                        break;
                    }

                    active = _edgeActive[_head];
                    atMs = _edgeAtMs[_head];
                    _head = (_head + 1) % _edgeActive.Length;
                    _count--;
                }

                OnEdge(active, atMs);
            }

            if (_hasCandidate && nowMs - _candidateAtMs >= _debounceMs)
            {
                Settle();
            }
        }

        private void OnChanged(bool active, long atMs)
        {
            lock (_lock)
            {
                if (_count == _edgeActive.Length)
                {
                    // Full: the newest edge takes the last slot, so the level still ends up the pin's.
                    _count--;
                    DroppedEdges++;
                }

                int tail = (_head + _count) % _edgeActive.Length;
                _edgeActive[tail] = active;
                _edgeAtMs[tail] = atMs;
                _count++;
            }
        }

        private void OnEdge(bool active, long atMs)
        {
            if (_hasCandidate)
            {
                if (active == _candidateActive)
                {
                    return;
                }

                if (atMs - _candidateAtMs < _debounceMs)
                {
                    _hasCandidate = false;
                    return;
                }

                Settle();
            }

            if (active != Active)
            {
                _hasCandidate = true;
                _candidateActive = active;
                _candidateAtMs = atMs;
            }
        }

        private void Settle()
        {
            _hasCandidate = false;
            Active = _candidateActive;
            SinceMs = _candidateAtMs;
            InputSettledHandler? handler = Settled;
            if (handler != null)
            {
                handler(Active, SinceMs);
            }
        }
    }
}
