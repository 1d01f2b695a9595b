namespace Anshimi.CloudBridge.Upstreams;

/// <summary>One upstream as <c>GET /api/upstreams</c> shows it.</summary>
/// <param name="Held">Alarms it could not take since the bridge started (pending, not offered again until a restart).</param>
/// <param name="Waiting">The oldest pending alarms that have failed at least once, each with the reason and whether it is held.</param>
public sealed record UpstreamStatusView(
    string Name,
    string Kind,
    string State,
    string Reason,
    DateTimeOffset Since,
    DateTimeOffset? NextAttemptAt,
    string? Link,
    long Pending,
    long Delivered,
    long Held,
    long FailedAttemptsSinceStart,
    IReadOnlyList<WaitingDeliveryView> Waiting);

/// <param name="Held">True when the upstream cannot take it (not retried until a restart); false while it is retried.</param>
public sealed record WaitingDeliveryView(string AlarmKey, int Attempts, string? Reason, bool Held);

public static class UpstreamEndpoints
{
    /// <summary>How many waiting alarms each upstream lists; the count of all is <see cref="UpstreamStatusView.Pending"/>.</summary>
    public const int WaitingShown = 50;

    /// <summary>
    /// <c>GET /api/upstreams</c> (JSON), for central staff or on the admin listener; the same numbers are on
    /// <c>/metrics</c> (<see cref="UpstreamMetrics"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapUpstreams(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/upstreams", ListAsync).WithName("ListUpstreams").WithTags("Status")
            .RequireAuthorization(Operators.OperatorAuthentication.StatusPolicy)
            .WithSummary("Each configured alarm receiver: state and why, deliveries pending, delivered and held, and the alarms waiting with their reasons.");
        return endpoints;
    }

    public static async Task<IReadOnlyList<UpstreamStatusView>> ViewsAsync(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(store);
        IReadOnlyDictionary<string, UpstreamCounts> counts = await store.CountsAsync(cancellationToken);
        var views = new List<UpstreamStatusView>();
        foreach ((UpstreamStatus status, IUpstream upstream) in dispatcher.Statuses.Zip(dispatcher.Upstreams))
        {
            UpstreamStateSnapshot now = status.Snapshot();
            UpstreamCounts c = counts.GetValueOrDefault(status.Name) ?? new UpstreamCounts(0, 0);
            IReadOnlySet<string> held = status.Held;
            IReadOnlyList<WaitingDelivery> waiting = await store.WaitingAsync(status.Name, WaitingShown, cancellationToken);
            views.Add(new UpstreamStatusView(status.Name, status.Kind, now.State, now.Reason, now.Since, now.NextAttemptAt, upstream.Link,
                c.Pending, c.Delivered, held.Count, status.FailedAttempts,
                [.. waiting.Select(w => new WaitingDeliveryView(w.AlarmKey, w.Attempts, w.Reason, held.Contains(w.AlarmKey)))]));
        }

        return views;
    }

    private static async Task<IReadOnlyList<UpstreamStatusView>> ListAsync(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store, CancellationToken cancellationToken) =>
        await ViewsAsync(dispatcher, store, cancellationToken);
}
