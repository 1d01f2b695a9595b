namespace Anshimi.CloudBridge.Upstreams;

/// <summary>One upstream as <c>GET /api/upstreams</c> shows it.</summary>
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
    long Rejected,
    long FailedAttemptsSinceStart,
    string? LastRejection);

public static class UpstreamEndpoints
{
    /// <summary>
    /// <c>GET /api/upstreams</c> (JSON), for central staff or on the admin listener; the same numbers are on
    /// <c>/metrics</c> (<see cref="UpstreamMetrics"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapUpstreams(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/upstreams", ListAsync).WithName("ListUpstreams").WithTags("Status")
            .RequireAuthorization(Operators.OperatorAuthentication.StatusPolicy)
            .WithSummary("Each configured alarm receiver: state and why, deliveries pending, delivered and rejected.");
        return endpoints;
    }

    public static async Task<IReadOnlyList<UpstreamStatusView>> ViewsAsync(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(store);
        IReadOnlyDictionary<string, UpstreamCounts> counts = await store.CountsAsync(cancellationToken);
        return dispatcher.Statuses.Zip(dispatcher.Upstreams, (status, upstream) =>
        {
            UpstreamStateSnapshot now = status.Snapshot();
            UpstreamCounts c = counts.GetValueOrDefault(status.Name) ?? new UpstreamCounts(0, 0, 0);
            return new UpstreamStatusView(status.Name, status.Kind, now.State, now.Reason, now.Since, now.NextAttemptAt, upstream.Link,
                c.Pending, c.Delivered, c.Rejected, status.FailedAttempts, now.LastRejection);
        }).ToList();
    }

    private static async Task<IReadOnlyList<UpstreamStatusView>> ListAsync(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store, CancellationToken cancellationToken) =>
        await ViewsAsync(dispatcher, store, cancellationToken);
}
