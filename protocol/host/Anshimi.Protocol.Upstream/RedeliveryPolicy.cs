namespace Anshimi.Protocol.Upstream;

/// <summary>
/// When an unconfirmed message between the tiers is sent again (protocol/README.md §6): the
/// gateway's alarm outbox until the cloud's receipt, the cloud's operator acks until the gateway's
/// "ack-relayed". The first resend after <see cref="Initial"/>, each later one after twice the
/// previous delay, never more than <see cref="Max"/>. Deterministic on purpose: there are few
/// gateways, and an operator should be able to predict when the bell hears an acknowledgement.
/// Only unconfirmed messages are ever resent; confirmation removes them.
/// </summary>
public sealed class RedeliveryPolicy
{
    public RedeliveryPolicy(TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        Initial = initial;
        Max = max;
    }

    public TimeSpan Initial { get; }

    public TimeSpan Max { get; }

    /// <summary>The wait before the next send, after <paramref name="attempts"/> sends (1 or more) went unconfirmed.</summary>
    public TimeSpan DelayAfter(int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);

        // 2^30 × any sane initial delay is far past Max; clamping the exponent keeps the multiply in range.
        int exponent = Math.Min(attempts - 1, 30);
        double ticks = Initial.Ticks * Math.Pow(2, exponent);
        return ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
    }
}
