using Anshimi.Gateway.Pipeline;

namespace Anshimi.Gateway.Tests.Fairness;

[Trait("Category", "Privacy")]
public sealed class FairUplinkQueueTests
{
    private const uint Noisy = 0x0000F100;
    private const uint Quiet = 0x0000A1B2;

    [Fact]
    public void A_device_over_its_budget_loses_its_newest_frames_and_no_one_elses()
    {
        var queue = new FairUplinkQueue<string>(capacity: 100, perDeviceCapacity: 3);
        var reasons = new List<string?>();
        for (int i = 0; i < 10; i++)
        {
            reasons.Add(queue.TryEnqueue(Noisy, "noisy-" + i, out _));
        }

        Assert.Equal([null, null, null, .. Enumerable.Repeat(AlarmPipeline.DeviceBudget, 7)], reasons);
        Assert.Null(queue.TryEnqueue(Quiet, "quiet-alarm", out _));
        Assert.Equal(["noisy-0", "quiet-alarm", "noisy-1", "noisy-2"], Drain(queue));
    }

    [Fact]
    public void A_full_queue_makes_room_for_a_quiet_device_in_the_longest_lane()
    {
        var queue = new FairUplinkQueue<string>(capacity: 4, perDeviceCapacity: 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.Null(queue.TryEnqueue(Noisy, "noisy-" + i, out _));
        }

        Assert.Null(queue.TryEnqueue(Quiet, "quiet-alarm", out string? displaced));

        Assert.Equal("noisy-0", displaced);
        Assert.Equal(4, queue.Count);
        Assert.Equal(["noisy-1", "quiet-alarm", "noisy-2", "noisy-3"], Drain(queue));
    }

    [Fact]
    public void When_every_lane_is_as_short_as_the_senders_the_newcomer_is_refused()
    {
        var queue = new FairUplinkQueue<string>(capacity: 2, perDeviceCapacity: 2);
        Assert.Null(queue.TryEnqueue(1, "a", out _));
        Assert.Null(queue.TryEnqueue(2, "b", out _));

        Assert.Equal(AlarmPipeline.QueueFull, queue.TryEnqueue(3, "c", out string? displaced));
        Assert.Null(displaced);
        Assert.Equal(AlarmPipeline.QueueFull, queue.TryEnqueue(1, "a2", out _));
        Assert.Equal(["a", "b"], Drain(queue));
    }

    [Fact]
    public void Devices_take_turns_whatever_order_their_frames_arrived_in()
    {
        var queue = new FairUplinkQueue<string>(capacity: 100, perDeviceCapacity: 100);
        foreach (string frame in new[] { "a1", "a2", "a3", "b1", "c1", "b2" })
        {
            Assert.Null(queue.TryEnqueue(frame[0], frame, out _));
        }

        Assert.Equal(["a1", "b1", "c1", "a2", "b2", "a3"], Drain(queue));
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(0, queue.Count);
    }

    private static List<string> Drain(FairUplinkQueue<string> queue)
    {
        var items = new List<string>();
        while (queue.TryDequeue(out string item))
        {
            items.Add(item);
        }

        return items;
    }
}
