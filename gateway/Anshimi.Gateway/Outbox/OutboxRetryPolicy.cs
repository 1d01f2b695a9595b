namespace Anshimi.Gateway.Outbox;

/// <summary>
/// When an alarm the cloud has not receipted is sent again: the first resend after
/// <see cref="Initial"/>, each later one after twice the previous delay, never more than
/// <see cref="Max"/>. Rows leave the outbox on receipt, so only unreceipted alarms are resent.
/// </summary>
public sealed class OutboxRetryPolicy
{
    public OutboxRetryPolicy(TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        Initial = initial;
        Max = max;
    }

    public TimeSpan Initial { get; }

    public TimeSpan Max { get; }

    /// <summary>The wait after the <paramref name="attempts"/>-th publish (1 = the first send).</summary>
    public TimeSpan DelayAfter(int attempts)
    {
        if (attempts <= 1)
        {
            return Initial;
        }

        // Doubling past 2^30 overflows long before any cap is reached; the cap has won by then.
        int doublings = Math.Min(attempts - 1, 30);
        double ticks = Initial.Ticks * Math.Pow(2, doublings);
        return ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
    }
}
