using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Tests;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void The_devices_run_the_hosts_policy_from_100_ms_to_a_1_s_cap()
    {
        var backoff = new ReconnectBackoff(new HighestDraw());

        Assert.Equal([100, 200, 400, 800, 1000, 1000, 1000], Enumerable.Range(0, 7).Select(_ => backoff.NextDelayMs(0)));
        var host = new Anshimi.Mqtt.ReconnectBackoffOptions();
        Assert.Equal(ReconnectBackoff.DefaultInitialMs, host.InitialDelay.TotalMilliseconds);
        Assert.Equal(ReconnectBackoff.DefaultMaxMs, host.MaxDelay.TotalMilliseconds);
        Assert.Equal(ReconnectBackoff.StableAfterMs, host.StableAfter.TotalMilliseconds);
    }

    [Fact]
    public void With_the_lowest_draw_a_wait_is_no_wait()
    {
        var backoff = new ReconnectBackoff(new NoJitter());

        Assert.Equal([0, 0, 0, 0], Enumerable.Range(0, 4).Select(_ => backoff.NextDelayMs(0)));
    }

    [Fact]
    public void Every_wait_lies_between_zero_and_its_step_and_never_past_the_cap()
    {
        var random = new RecordingRandom(new Random(14));
        var backoff = new ReconnectBackoff(random, 300, 4000);
        long now = 0;
        for (int attempt = 0; attempt < 500; attempt++)
        {
            if (attempt % 37 == 0)
            {
                backoff.Connected(now);
                now += ReconnectBackoff.StableAfterMs;
            }

            int step = backoff.StepMs;
            int delay = backoff.NextDelayMs(now);

            Assert.InRange(delay, 0, Math.Max(step, 300));
            Assert.True(delay <= 4000);

            // The jitter is the device's random source, asked for the whole span of the step.
            Assert.True(random.LastMaxExclusive - 1 <= 4000);
        }

        Assert.True(random.Distinct > 100, "the jitter should spread the waits, saw " + random.Distinct + " distinct draws");
    }

    [Fact]
    public void Only_a_connection_that_held_starts_the_next_outage_from_the_first_step()
    {
        var backoff = new ReconnectBackoff(new HighestDraw());
        backoff.NextDelayMs(0);
        backoff.NextDelayMs(0);
        backoff.NextDelayMs(0);
        Assert.Equal(800, backoff.StepMs);

        // Lost again after a second: the broker is crashing, the steps go on.
        backoff.Connected(1000);
        Assert.Equal(800, backoff.NextDelayMs(2000));

        backoff.Connected(5000);
        Assert.Equal(100, backoff.NextDelayMs(5000 + ReconnectBackoff.StableAfterMs));
        Assert.Equal(200, backoff.NextDelayMs(5000 + ReconnectBackoff.StableAfterMs));
    }

    [Theory]
    [InlineData(0, 5000)]
    [InlineData(600, 500)]
    public void Settings_that_cannot_back_off_are_refused(int initialMs, int maxMs)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(new NoJitter(), initialMs, maxMs));
    }

    private sealed class HighestDraw : IRandom
    {
        public int Next(int maxExclusive) => maxExclusive - 1;
    }

    private sealed class RecordingRandom(Random random) : IRandom
    {
        private readonly HashSet<int> _draws = [];

        public int LastMaxExclusive { get; private set; }

        public int Distinct => _draws.Count;

        public int Next(int maxExclusive)
        {
            LastMaxExclusive = maxExclusive;
            int draw = random.Next(maxExclusive);
            _draws.Add(draw);
            return draw;
        }
    }
}
