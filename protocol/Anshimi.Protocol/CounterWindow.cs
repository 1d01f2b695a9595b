namespace Anshimi.Protocol
{
    /// <summary>
    /// Replay guard for one sender: accepts only counters above the highest one accepted so far.
    /// The owner persists <see cref="Highest"/> so a reboot does not reopen old counters.
    /// </summary>
    public sealed class CounterWindow
    {
        public CounterWindow(uint highest)
        {
            Highest = highest;
        }

        public uint Highest { get; private set; }

        public bool IsFresh(uint counter)
        {
            return counter > Highest;
        }

        /// <summary>Accepts a fresh counter and moves the window; false (and no change) for a replay.</summary>
        public bool TryAccept(uint counter)
        {
            if (counter <= Highest)
            {
                return false;
            }

            Highest = counter;
            return true;
        }
    }
}
