namespace Anshimi.Mqtt.Tests;

public sealed class ReconnectBackoffTests
{
    private static readonly ReconnectBackoffOptions Options = new() { InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(5) };

    [Fact]
    public void The_ceiling_doubles_from_the_initial_delay_and_stops_at_the_cap()
    {
        var backoff = new ReconnectBackoff(Options, new Random(1));

        Assert.Equal(
            [100, 200, 400, 800, 1600, 3200, 5000, 5000],
            Enumerable.Range(1, 8).Select(failures => backoff.CeilingAfter(failures).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.CeilingAfter(int.MaxValue));
    }

    [Fact]
    public void Every_delay_lies_in_the_upper_half_of_its_ceiling()
    {
        var backoff = new ReconnectBackoff(Options, new Random(7));

        for (int failures = 1; failures <= 200; failures++)
        {
            TimeSpan ceiling = backoff.CeilingAfter(failures);
            TimeSpan delay = backoff.NextDelay();
            Assert.InRange(delay, ceiling / 2, ceiling);
        }

        Assert.Equal(200, backoff.Failures);
    }

    [Fact]
    public void A_fleet_that_lost_the_broker_together_spreads_its_reconnects_over_the_window()
    {
        var random = new Random(42);
        var fleet = Enumerable.Range(0, 1000).Select(_ => new ReconnectBackoff(Options, new Random(random.Next()))).ToList();

        // Two quick broker crashes: every client is at its third attempt, ceiling 400 ms.
        foreach (ReconnectBackoff client in fleet)
        {
            client.NextDelay();
            client.NextDelay();
        }

        double[] third = [.. fleet.Select(client => client.NextDelay().TotalMilliseconds)];
        Assert.All(third, delay => Assert.InRange(delay, 200, 400));

        // Split the 200 ms window into ten slots: none may hold more than twice its fair share.
        int[] perSlot = new int[10];
        foreach (double delay in third)
        {
            perSlot[Math.Min(9, (int)((delay - 200) / 20))]++;
        }

        Assert.All(perSlot, count => Assert.InRange(count, 50, 200));
        Assert.True(third.Distinct().Count() > 990, "delays are not drawn in lock step");
    }

    [Fact]
    public void A_successful_connection_starts_the_next_outage_from_the_initial_delay()
    {
        var backoff = new ReconnectBackoff(Options, new Random(3));
        for (int i = 0; i < 10; i++)
        {
            backoff.NextDelay();
        }

        backoff.Reset();

        Assert.Equal(0, backoff.Failures);
        Assert.InRange(backoff.NextDelay(), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void The_same_seed_gives_the_same_delays()
    {
        var first = new ReconnectBackoff(Options, new Random(99));
        var second = new ReconnectBackoff(Options, new Random(99));

        Assert.Equal(
            Enumerable.Range(0, 20).Select(_ => first.NextDelay()),
            Enumerable.Range(0, 20).Select(_ => second.NextDelay()));
    }

    [Theory]
    [InlineData(0, 1000)]
    [InlineData(-5, 1000)]
    [InlineData(500, 100)]
    public void Rejects_delays_that_make_no_sense(int initialMs, int maxMs)
    {
        var options = new ReconnectBackoffOptions { InitialDelay = TimeSpan.FromMilliseconds(initialMs), MaxDelay = TimeSpan.FromMilliseconds(maxMs) };

        Assert.Throws<ArgumentException>(() => new ReconnectBackoff(options));
    }

    [Fact]
    public void A_session_refuses_options_without_a_reconnect_policy()
    {
        var options = new MqttClientOptions { ClientId = "bell", Reconnect = null };

        var error = Assert.Throws<ArgumentException>(() => MqttSession.Create(options));

        Assert.Contains("Reconnect", error.Message, StringComparison.Ordinal);
    }
}
