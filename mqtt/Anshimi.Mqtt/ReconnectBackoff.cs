namespace Anshimi.Mqtt;

/// <summary>Settings of <see cref="ReconnectBackoff"/>.</summary>
public sealed class ReconnectBackoffOptions
{
    /// <summary>The ceiling of the first delay after a failure.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The ceiling never grows beyond this.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    public void Validate()
    {
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            throw new ArgumentException($"Reconnect delays must satisfy 0 < InitialDelay ({InitialDelay}) <= MaxDelay ({MaxDelay}).");
        }
    }
}

/// <summary>
/// Delays between connect attempts: the ceiling doubles from <see cref="ReconnectBackoffOptions.InitialDelay"/>
/// up to <see cref="ReconnectBackoffOptions.MaxDelay"/>, and each delay is drawn uniformly from the upper
/// half of the ceiling ("equal jitter"). The lower half keeps a client from hammering the broker; the
/// random half spreads a fleet that lost the broker at the same instant over the whole window instead of
/// reconnecting in one burst.
/// </summary>
public sealed class ReconnectBackoff
{
    private readonly ReconnectBackoffOptions _options;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private int _failures;

    public ReconnectBackoff(ReconnectBackoffOptions options, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = random ?? Random.Shared;
    }

    /// <summary>Failed attempts since the last successful connection.</summary>
    public int Failures
    {
        get
        {
            lock (_lock)
            {
                return _failures;
            }
        }
    }

    /// <summary>The ceiling of the delay that follows <paramref name="failures"/> failed attempts.</summary>
    public TimeSpan CeilingAfter(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);

        // Shifts beyond 30 would overflow; the cap is reached long before.
        double ceiling = _options.InitialDelay.Ticks * Math.Pow(2, Math.Min(failures - 1, 30));
        return TimeSpan.FromTicks((long)Math.Min(ceiling, _options.MaxDelay.Ticks));
    }

    /// <summary>Records a failed attempt and returns how long to wait before the next one.</summary>
    public TimeSpan NextDelay()
    {
        lock (_lock)
        {
            _failures = Math.Min(_failures + 1, int.MaxValue - 1);
            long ceiling = CeilingAfter(_failures).Ticks;
            long half = ceiling / 2;
            return TimeSpan.FromTicks(half + (long)(_random.NextDouble() * (ceiling - half)));
        }
    }

    /// <summary>A connection succeeded: the next failure starts again from the initial delay.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _failures = 0;
        }
    }
}
