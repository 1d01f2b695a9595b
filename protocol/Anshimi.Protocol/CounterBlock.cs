namespace Anshimi.Protocol
{
    /// <summary>
    /// Counter blocks of a receiver's floor kept in flash (protocol/README.md §2, "Counter floors across power loss"): a
    /// receiver writes the end of the accepted counter's block, so flash is written once per block; after a power cut it
    /// refuses the rest of that block, and the sender moves on to the next block's start.
    /// </summary>
    public static class CounterBlock
    {
        /// <summary>A streetlight's command floor: 64 commands per flash write.</summary>
        public const uint LightCommand = 64;

        /// <summary>The last counter of the block of <paramref name="size"/> counters that holds <paramref name="counter"/>.</summary>
        public static uint End(uint counter, uint size)
        {
            if (size <= 1)
            {
                return counter;
            }

            ulong end = (ulong)counter - (counter % size) + size - 1;
            return end > uint.MaxValue ? uint.MaxValue : (uint)end;
        }

        /// <summary>The first counter of the block after the one that holds <paramref name="counter"/>; the last counter stays the last.</summary>
        public static uint NextStart(uint counter, uint size)
        {
            uint end = End(counter, size);
            return end == uint.MaxValue ? uint.MaxValue : end + 1;
        }
    }
}
