namespace Anshimi.Firmware.Tests;

public sealed class PayloadRingTests
{
    [Fact]
    public void An_empty_ring_hands_out_nothing()
    {
        var ring = new PayloadRing(3);

        Assert.Null(ring.Dequeue());
        Assert.Equal(0, ring.Count);
        Assert.Equal(3, ring.Capacity);
    }

    [Fact]
    public void A_full_ring_refuses_without_losing_what_it_holds()
    {
        var ring = new PayloadRing(2);
        byte[] first = [1];
        byte[] second = [2];

        Assert.True(ring.TryEnqueue(first));
        Assert.True(ring.TryEnqueue(second));
        Assert.False(ring.TryEnqueue([3]));

        Assert.Equal(2, ring.Count);
        Assert.Same(first, ring.Dequeue());
        Assert.Same(second, ring.Dequeue());
        Assert.Null(ring.Dequeue());
    }

    [Fact]
    public void Payloads_come_out_in_order_across_many_wrap_arounds()
    {
        var ring = new PayloadRing(3);
        int next = 0;
        int expected = 0;

        // Fill and drain by different amounts so head and tail cross the end of the slots at every offset.
        for (int round = 0; round < 50; round++)
        {
            for (int i = 0; i < 1 + (round % 3) && ring.TryEnqueue([(byte)next]); i++)
            {
                next++;
            }

            for (int i = 0; i < 1 + ((round + 1) % 2); i++)
            {
                byte[]? payload = ring.Dequeue();
                if (payload == null)
                {
                    break;
                }

                Assert.Equal((byte)expected++, payload[0]);
            }
        }

        for (byte[]? payload = ring.Dequeue(); payload != null; payload = ring.Dequeue())
        {
            Assert.Equal((byte)expected++, payload[0]);
        }

        Assert.Equal(next, expected);
        Assert.True(next > 50);
    }

    [Fact]
    public void A_ring_of_no_slots_refuses_everything()
    {
        var ring = new PayloadRing(0);

        Assert.False(ring.TryEnqueue([1]));
        Assert.Null(ring.Dequeue());
    }

    [Fact]
    public void A_negative_capacity_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PayloadRing(-1));
    }
}
