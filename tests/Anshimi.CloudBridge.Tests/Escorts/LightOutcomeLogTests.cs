using Anshimi.CloudBridge.Escorts;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Escorts;

public sealed class LightOutcomeLogTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 20, 0, 0, TimeSpan.Zero);

    private static LightOutcomeEnvelope Outcome(string outcome, string light = "5A000010", string gateway = "gw-a", int seconds = 0) =>
        new("req-1", gateway, light, LightModeName.Escort, outcome, At.AddSeconds(seconds));

    [Fact]
    public void A_superseded_command_is_recorded_but_counted_neither_confirmed_nor_failed()
    {
        var log = new LightOutcomeLog();

        Assert.Null(log.Record("gw-a", Outcome(LightOutcomeName.Superseded)));

        Assert.Equal(LightOutcomeName.Superseded, log.Latest(0x5A000010)!.Outcome);
        Assert.Equal((0L, 0L), (log.Confirmed, log.Failed));
    }

    [Fact]
    public void The_newest_outcome_wins_even_when_it_arrives_first()
    {
        var log = new LightOutcomeLog();

        log.Record("gw-a", Outcome(LightOutcomeName.Confirmed, seconds: 10));
        log.Record("gw-a", Outcome(LightOutcomeName.Expired, seconds: 5));

        Assert.Equal(LightOutcomeName.Confirmed, log.Latest(0x5A000010)!.Outcome);
        Assert.Equal((1L, 1L), (log.Confirmed, log.Failed));
    }

    [Theory]
    [InlineData("gw-a", "00001234", LightOutcomeName.Confirmed, "not a streetlight id")]
    [InlineData("gw-b", "5A000010", LightOutcomeName.Confirmed, "differs from its topic")]
    [InlineData("gw-a", "5A000010", "lit", "unknown mode, outcome")]
    public void A_bad_outcome_is_refused_with_its_reason_and_records_nothing(string gateway, string light, string outcome, string reason)
    {
        var log = new LightOutcomeLog();

        Assert.Contains(reason, log.Record("gw-a", Outcome(outcome, light, gateway)), StringComparison.Ordinal);

        Assert.Null(log.Latest(0x5A000010));
        Assert.Equal((0L, 0L), (log.Confirmed, log.Failed));
    }
}
