namespace Anshimi.CloudBridge.Upstreams;

/// <summary>What an upstream is doing now.</summary>
public static class UpstreamState
{
    /// <summary>Nothing waiting; the last attempt (if any) succeeded.</summary>
    public const string Idle = "idle";

    public const string Delivering = "delivering";

    /// <summary>The last attempt failed transiently; alarms wait durably until the next try.</summary>
    public const string Retrying = "retrying";
}

/// <summary>Live state of one upstream and its counters since start; durable counts come from the store.</summary>
public sealed class UpstreamStatus(string name, string kind, TimeProvider time)
{
    private readonly Lock _sync = new();
    private string _state = UpstreamState.Idle;
    private string _reason = "started";
    private DateTimeOffset _since = time.GetUtcNow();
    private DateTimeOffset? _nextAttemptAt;
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);
    private long _delivered;
    private long _failedAttempts;

    public string Name { get; } = name;

    public string Kind { get; } = kind;

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Alarms this upstream could not take since the bridge started; not offered again until a restart.</summary>
    public IReadOnlySet<string> Held
    {
        get
        {
            lock (_sync)
            {
                return new HashSet<string>(_held, StringComparer.Ordinal);
            }
        }
    }

    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    public UpstreamStateSnapshot Snapshot()
    {
        lock (_sync)
        {
            return new UpstreamStateSnapshot(_state, _reason, _since, _nextAttemptAt);
        }
    }

    public void Set(string state, string reason, DateTimeOffset? nextAttemptAt = null)
    {
        lock (_sync)
        {
            if (_state != state)
            {
                _since = time.GetUtcNow();
            }

            _state = state;
            _reason = reason;
            _nextAttemptAt = nextAttemptAt;
        }
    }

    public void CountDelivered() => Interlocked.Increment(ref _delivered);

    public void CountFailedAttempt() => Interlocked.Increment(ref _failedAttempts);

    public void Hold(string alarmKey)
    {
        lock (_sync)
        {
            _held.Add(alarmKey);
        }
    }
}

public sealed record UpstreamStateSnapshot(string State, string Reason, DateTimeOffset Since, DateTimeOffset? NextAttemptAt);
