using Anshimi.AlarmReceivers.Dc09;

namespace Anshimi.AlarmReceivers.Tests;

public class Dc09RetryPolicyTests
{
    private readonly Dc09RetryPolicy policy = new()
    {
        MaxAttempts = 4, InitialDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5),
    };

    [Theory]
    [InlineData(Dc09Failure.Nak, true)]
    [InlineData(Dc09Failure.Timeout, true)]
    [InlineData(Dc09Failure.ConnectionFailed, true)]
    [InlineData(Dc09Failure.MalformedResponse, false)]
    [InlineData(Dc09Failure.NotUnderstood, false)]
    public void Only_NAK_silence_and_connection_faults_are_transient(Dc09Failure failure, bool transient) =>
        Assert.Equal(transient, Dc09RetryPolicy.IsTransient(failure));

    [Fact]
    public void Retries_transient_failures_until_max_attempts()
    {
        Assert.True(policy.ShouldRetry(Dc09Failure.Timeout, 1));
        Assert.True(policy.ShouldRetry(Dc09Failure.Timeout, 3));
        Assert.False(policy.ShouldRetry(Dc09Failure.Timeout, 4));
        Assert.False(policy.ShouldRetry(Dc09Failure.NotUnderstood, 1));
        Assert.False(policy.ShouldRetry(Dc09Failure.MalformedResponse, 1));
    }

    [Fact]
    public void Backs_off_doubling_up_to_the_maximum()
    {
        Assert.Equal(
            [1, 2, 4, 5, 5],
            Enumerable.Range(1, 5).Select(n => policy.DelayAfter(Dc09Failure.ConnectionFailed, n).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(5), policy.DelayAfter(Dc09Failure.Timeout, int.MaxValue));
    }

    [Fact]
    public void Retries_a_NAK_at_once_with_the_corrected_clock() =>
        Assert.Equal(TimeSpan.Zero, policy.DelayAfter(Dc09Failure.Nak, 3));
}
