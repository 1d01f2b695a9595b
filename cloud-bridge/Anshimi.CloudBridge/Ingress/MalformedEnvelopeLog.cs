namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// Logs dropped envelopes at most once per <see cref="Window"/>, with how many were suppressed, so
/// a misbehaving or hostile publisher cannot flood the log.
/// </summary>
public sealed partial class MalformedEnvelopeLog
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private DateTimeOffset _lastLogged = DateTimeOffset.MinValue;
    private long _suppressed;

    public MalformedEnvelopeLog(ILogger<MalformedEnvelopeLog> logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
    }

    public void Report(string topic, string reason)
    {
        long suppressed;
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            if (now - _lastLogged < Window)
            {
                _suppressed++;
                return;
            }

            _lastLogged = now;
            suppressed = _suppressed;
            _suppressed = 0;
        }

        LogDropped(_logger, topic, reason, suppressed);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped envelope on {Topic}: {Reason} ({Suppressed} more dropped since the last report)")]
    private static partial void LogDropped(ILogger logger, string topic, string reason, long suppressed);
}
