namespace Anshimi.Firmware
{
    /// <summary>
    /// A fixed-capacity first-in first-out ring of received payloads, for handing messages from a network
    /// thread to the device loop. Its slots are allocated once, so queueing allocates nothing, and a full
    /// ring refuses instead of growing. Not thread-safe: callers hold their own lock.
    /// </summary>
    public sealed class PayloadRing
    {
        private readonly byte[]?[] _slots;
        private int _head;
        private int _count;

        /// <summary>A ring of <paramref name="capacity"/> slots; 0 refuses everything.</summary>
        public PayloadRing(int capacity)
        {
            if (capacity < 0)
            {
                throw new System.ArgumentOutOfRangeException(nameof(capacity), "capacity must not be negative");
            }

            _slots = new byte[]?[capacity];
        }

        public int Capacity
        {
            get { return _slots.Length; }
        }

        public int Count
        {
            get { return _count; }
        }

        /// <summary>Adds <paramref name="payload"/> behind the others; false (and nothing kept) when the ring is full.</summary>
        public bool TryEnqueue(byte[] payload)
        {
            if (_count == _slots.Length)
            {
                return false;
            }

            int tail = _head + _count;
            if (tail >= _slots.Length)
            {
                tail -= _slots.Length;
            }

            _slots[tail] = payload;
            _count++;
            return true;
        }

        /// <summary>Removes and returns the oldest payload, or null when the ring is empty.</summary>
        public byte[]? Dequeue()
        {
            if (_count == 0)
            {
                return null;
            }

            byte[]? payload = _slots[_head];

            // Let the payload go as soon as it is handed out, not when its slot is reused.
            _slots[_head] = null;
            _head = _head + 1 == _slots.Length ? 0 : _head + 1;
            _count--;
            return payload;
        }
    }
}
