using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Tests;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void The_devices_defaults_start_at_half_a_second_and_stop_growing_at_five()
    {
        var backoff = new ReconnectBackoff(new HighestDraw());

        Assert.Equal([500, 1000, 2000, 4000, 5000, 5000, 5000], Enumerable.Range(0, 7).Select(_ => backoff.NextDelayMs()));
    }

    [Fact]
    public void With_the_lowest_draw_each_wait_is_half_its_step()
    {
        var backoff = new ReconnectBackoff(new NoJitter());

        Assert.Equal([250, 500, 1000, 2000, 2500, 2500], Enumerable.Range(0, 6).Select(_ => backoff.NextDelayMs()));
    }

    [Fact]
    public void Every_wait_lies_between_half_its_step_and_the_step_and_never_past_the_cap()
    {
        var random = new RecordingRandom(new Random(14));
        var backoff = new ReconnectBackoff(random, 300, 4000);
        for (int attempt = 0; attempt < 500; attempt++)
        {
            if (attempt % 37 == 0)
            {
                backoff.Reset();
            }

            int step = backoff.StepMs;
            int delay = backoff.NextDelayMs();

            Assert.InRange(delay, step - (step / 2), step);
            Assert.True(delay <= 4000);

            // The jitter is the device's random source, asked for exactly the span of the half step.
            Assert.Equal((step / 2) + 1, random.LastMaxExclusive);
        }

        Assert.True(random.Distinct > 100, "the jitter should spread the waits, saw " + random.Distinct + " distinct draws");
    }

    [Fact]
    public void A_good_connection_starts_the_next_outage_from_the_first_step()
    {
        var backoff = new ReconnectBackoff(new HighestDraw());
        backoff.NextDelayMs();
        backoff.NextDelayMs();
        backoff.NextDelayMs();
        Assert.Equal(4000, backoff.StepMs);

        backoff.Reset();

        Assert.Equal(500, backoff.StepMs);
        Assert.Equal(500, backoff.NextDelayMs());
        Assert.Equal(1000, backoff.NextDelayMs());
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
