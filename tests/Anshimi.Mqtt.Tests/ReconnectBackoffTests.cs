using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Mqtt.Tests;

public sealed class ReconnectBackoffTests
{
    /// <summary>The policy every client runs, as it ships: no test chooses its own.</summary>
    private static readonly ReconnectBackoffOptions Policy = new MqttClientOptions().Reconnect;

    [Fact]
    public void Every_client_shares_one_policy_a_small_first_delay_and_a_cap_that_brings_it_back_within_2_s()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), Policy.InitialDelay);
        Assert.Equal(TimeSpan.FromSeconds(1), Policy.MaxDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), Policy.StableAfter);
    }

    [Fact]
    public void The_ceiling_doubles_from_the_initial_delay_and_stops_at_the_cap()
    {
        var backoff = new ReconnectBackoff(Policy, new Random(1));

        Assert.Equal(
            [100, 200, 400, 800, 1000, 1000, 1000],
            Enumerable.Range(1, 7).Select(failures => backoff.CeilingAfter(failures).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.CeilingAfter(int.MaxValue));
    }

    [Fact]
    public void Every_delay_lies_between_zero_and_its_ceiling_and_uses_the_whole_range()
    {
        var backoff = new ReconnectBackoff(Policy, new Random(7));
        var fractions = new List<double>();

        for (int failures = 1; failures <= 400; failures++)
        {
            TimeSpan ceiling = backoff.CeilingAfter(failures);
            TimeSpan delay = backoff.NextDelay();
            Assert.InRange(delay, TimeSpan.Zero, ceiling);
            fractions.Add(delay / ceiling);
        }

        Assert.Equal(400, backoff.Failures);

        // Full jitter: delays below half the ceiling are as common as those above it.
        Assert.InRange(fractions.Count(f => f < 0.5), 160, 240);
        Assert.Contains(fractions, f => f < 0.1);
        Assert.Contains(fractions, f => f > 0.9);
    }

    [Fact]
    public void A_fleet_after_two_quick_broker_crashes_returns_spread_over_the_window_not_in_step()
    {
        var random = new Random(42);
        var time = new FakeTimeProvider();
        var fleet = Enumerable.Range(0, 1000).Select(_ => new ReconnectBackoff(Policy, new Random(random.Next()), time)).ToList();

        // First crash: every client fails five attempts, reconnects, and loses the broker again a second later.
        foreach (ReconnectBackoff client in fleet)
        {
            for (int i = 0; i < 5; i++)
            {
                client.NextDelay();
            }

            client.Connected();
        }

        time.Advance(TimeSpan.FromSeconds(1));
        double[] after = [.. fleet.Select(client => client.NextDelay().TotalMilliseconds)];

        // Not stable, so the count went on: every delay is drawn from the capped window, none longer than the cap.
        Assert.All(after, delay => Assert.InRange(delay, 0, 1000));

        // Ten slots of 100 ms: none may hold more than twice its fair share, none less than half.
        int[] perSlot = new int[10];
        foreach (double delay in after)
        {
            perSlot[Math.Min(9, (int)(delay / 100))]++;
        }

        Assert.All(perSlot, count => Assert.InRange(count, 50, 200));
        Assert.True(after.Distinct().Count() > 990, "delays are not drawn in lock step");
    }

    [Fact]
    public void Only_a_connection_that_held_for_StableAfter_starts_the_next_outage_from_the_initial_delay()
    {
        var time = new FakeTimeProvider();
        var backoff = new ReconnectBackoff(Policy, new Random(3), time);
        for (int i = 0; i < 10; i++)
        {
            backoff.NextDelay();
        }

        backoff.Connected();
        time.Advance(Policy.StableAfter - TimeSpan.FromMilliseconds(1));
        backoff.NextDelay();
        Assert.Equal(11, backoff.Failures);

        backoff.Connected();
        time.Advance(Policy.StableAfter);
        TimeSpan first = backoff.NextDelay();

        Assert.Equal(1, backoff.Failures);
        Assert.InRange(first, TimeSpan.Zero, Policy.InitialDelay);
    }

    [Fact]
    public void The_same_seed_gives_the_same_delays()
    {
        var first = new ReconnectBackoff(Policy, new Random(99));
        var second = new ReconnectBackoff(Policy, new Random(99));

        Assert.Equal(
            Enumerable.Range(0, 20).Select(_ => first.NextDelay()),
            Enumerable.Range(0, 20).Select(_ => second.NextDelay()));
    }

    [Theory]
    [InlineData(0, 1000, 0)]
    [InlineData(-5, 1000, 0)]
    [InlineData(500, 100, 0)]
    [InlineData(100, 1000, -1)]
    public void Rejects_delays_that_make_no_sense(int initialMs, int maxMs, int stableMs)
    {
        var options = new ReconnectBackoffOptions
        {
            InitialDelay = TimeSpan.FromMilliseconds(initialMs),
            MaxDelay = TimeSpan.FromMilliseconds(maxMs),
            StableAfter = TimeSpan.FromMilliseconds(stableMs),
        };

        Assert.Throws<ArgumentException>(() => new ReconnectBackoff(options));
    }
}
