namespace Anshimi.CloudBridge.Acks;

/// <summary>
/// When to re-send an operator acknowledgement the gateway has not confirmed: the first retry after
/// <see cref="Initial"/>, doubling each time, never longer than <see cref="Max"/>. Deterministic on
/// purpose: few gateways, and an operator should be able to predict when the bell hears it.
/// </summary>
public sealed class AckRetryPolicy
{
    public AckRetryPolicy(TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        Initial = initial;
        Max = max;
    }

    public TimeSpan Initial { get; }

    public TimeSpan Max { get; }

    /// <summary>Delay before the next send, after <paramref name="attempts"/> sends (1 or more) went unconfirmed.</summary>
    public TimeSpan DelayAfter(int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);

        // 2^30 × any sane initial is far past Max; clamping the exponent keeps the multiply in range.
        int exponent = Math.Min(attempts - 1, 30);
        double ticks = Initial.Ticks * Math.Pow(2, exponent);
        return ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
    }
}
