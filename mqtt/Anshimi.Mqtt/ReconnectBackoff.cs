namespace Anshimi.Mqtt;

/// <summary>
/// Settings of <see cref="ReconnectBackoff"/>. The defaults are the policy of every client, in production and in
/// tests alike: a client is back at most <see cref="MaxDelay"/> plus one connect attempt after its broker listens again.
/// </summary>
public sealed class ReconnectBackoffOptions
{
    /// <summary>The ceiling of the first delay after a failure.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The ceiling never grows beyond this, so no wait is longer.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A connection that lasted this long starts the next outage from <see cref="InitialDelay"/>; a shorter one does not.</summary>
    public TimeSpan StableAfter { get; set; } = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            throw new ArgumentException($"Reconnect delays must satisfy 0 < InitialDelay ({InitialDelay}) <= MaxDelay ({MaxDelay}).");
        }

        if (StableAfter < TimeSpan.Zero)
        {
            throw new ArgumentException($"Reconnect StableAfter ({StableAfter}) must not be negative.");
        }
    }
}

/// <summary>
/// Delays between connect attempts, "full jitter": the ceiling doubles from <see cref="ReconnectBackoffOptions.InitialDelay"/>
/// up to <see cref="ReconnectBackoffOptions.MaxDelay"/> with every failed attempt, and each delay is drawn uniformly
/// from zero to the ceiling. A fleet that lost its broker at one instant therefore never sleeps in step: its attempts
/// spread over the whole window, and each client is back within the cap of the broker's return. The count of failures
/// starts again only after a connection has held for <see cref="ReconnectBackoffOptions.StableAfter"/>, so a broker
/// that crashes again and again is not hammered at the shortest delay.
/// </summary>
public sealed class ReconnectBackoff
{
    private readonly ReconnectBackoffOptions _options;
    private readonly Random _random;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private int _failures;
    private long? _connectedAt;

    public ReconnectBackoff(ReconnectBackoffOptions options, Random? random = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = random ?? Random.Shared;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Failed attempts counted towards the ceiling.</summary>
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

    /// <summary>Records a failed attempt (or a lost connection) and returns how long to wait before the next attempt.</summary>
    public TimeSpan NextDelay()
    {
        lock (_lock)
        {
            if (_connectedAt is long since && _time.GetElapsedTime(since) >= _options.StableAfter)
            {
                _failures = 0;
            }

            _connectedAt = null;
            _failures = Math.Min(_failures + 1, int.MaxValue - 1);
            return TimeSpan.FromTicks((long)(_random.NextDouble() * CeilingAfter(_failures).Ticks));
        }
    }

    /// <summary>A connection succeeded; once it has held for StableAfter, the next failure starts from the initial delay.</summary>
    public void Connected()
    {
        lock (_lock)
        {
            _connectedAt = _time.GetTimestamp();
        }
    }
}
