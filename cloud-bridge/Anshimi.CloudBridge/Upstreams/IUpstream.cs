using Anshimi.CloudBridge.Alarms;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// One configured receiver of alarms. <see cref="DeliverAsync"/> makes one delivery attempt and
/// classifies its end; the <see cref="UpstreamDispatcher"/> owns persistence, ordering and retries.
/// </summary>
public interface IUpstream : IAsyncDisposable
{
    /// <summary>Unique configured name; deliveries are stored under it.</summary>
    string Name { get; }

    /// <summary>"dc09", "webhook" or "iothub".</summary>
    string Kind { get; }

    /// <summary>The state of the link itself (connected, disconnected and why), or null when it has none.</summary>
    string? Link { get; }

    /// <summary>One attempt. Throws only on cancellation; every receiver fault is a <see cref="DeliveryResult"/>.</summary>
    Task<DeliveryResult> DeliverAsync(AlarmRecord alarm, CancellationToken cancellationToken);

    /// <summary>Background duty while the bridge runs (supervision, token renewal); completes at once when there is none.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}

public enum DeliveryOutcome
{
    /// <summary>The receiver confirmed it (ACK, 2xx, PUBACK).</summary>
    Delivered,

    /// <summary>A fault that may pass (down, timeout, 5xx, NAK): tried again after a backoff.</summary>
    Transient,

    /// <summary>
    /// The upstream cannot take it as it is (DC-09 DUH or unreadable answers from every receiver, no account, HTTP 4xx):
    /// it stays pending with the reason, shown to central staff, and is not offered again until the bridge restarts
    /// (after a person fixed the receiver or the configuration); later alarms are not held up behind it.
    /// </summary>
    Held,
}

/// <param name="RetryAfter">The receiver's own wish for the next attempt (HTTP Retry-After), if any.</param>
public sealed record DeliveryResult(DeliveryOutcome Outcome, string Detail, TimeSpan? RetryAfter = null)
{
    public static DeliveryResult Delivered(string detail) => new(DeliveryOutcome.Delivered, detail);

    public static DeliveryResult Transient(string detail, TimeSpan? retryAfter = null) => new(DeliveryOutcome.Transient, detail, retryAfter);

    public static DeliveryResult Held(string detail) => new(DeliveryOutcome.Held, detail);
}
