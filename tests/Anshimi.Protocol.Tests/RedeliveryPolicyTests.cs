using Anshimi.Protocol.Upstream;

namespace Anshimi.Protocol.Tests;

public sealed class RedeliveryPolicyTests
{
    [Fact]
    public void Delay_doubles_from_the_initial_interval_and_stops_at_the_cap()
    {
        var policy = new RedeliveryPolicy(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));

        TimeSpan[] delays = Enumerable.Range(1, 8).Select(policy.DelayAfter).ToArray();

        Assert.Equal(new[] { 2, 4, 8, 16, 32, 60, 60, 60 }.Select(s => TimeSpan.FromSeconds(s)), delays);
    }

    [Fact]
    public void Delay_stays_at_the_cap_for_any_number_of_attempts()
    {
        var policy = new RedeliveryPolicy(TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));

        Assert.Equal(TimeSpan.FromMinutes(5), policy.DelayAfter(int.MaxValue));
    }

    [Fact]
    public void Invalid_settings_and_attempt_counts_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedeliveryPolicy(TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedeliveryPolicy(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RedeliveryPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)).DelayAfter(0));
    }
}
