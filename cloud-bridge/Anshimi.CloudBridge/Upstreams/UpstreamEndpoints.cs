using System.Globalization;
using System.Text;

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
    /// <summary><c>GET /api/upstreams</c> (JSON) and <c>GET /metrics/upstreams</c> (Prometheus text exposition).</summary>
    public static IEndpointRouteBuilder MapUpstreams(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/upstreams", ListAsync).WithName("ListUpstreams").WithTags("Status")
            .WithSummary("Each configured alarm receiver: state and why, deliveries pending, delivered and rejected.");
        endpoints.MapGet("/metrics/upstreams", MetricsAsync).WithName("UpstreamMetrics").WithTags("Status")
            .WithSummary("The same as counters in the Prometheus text format.");
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

    private static async Task<IResult> MetricsAsync(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store, CancellationToken cancellationToken)
    {
        IReadOnlyList<UpstreamStatusView> views = await ViewsAsync(dispatcher, store, cancellationToken);
        var text = new StringBuilder();
        void Metric(string name, string type, string help, Func<UpstreamStatusView, long> value)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
            foreach (UpstreamStatusView view in views)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}{{upstream=\"{view.Name}\",kind=\"{view.Kind}\"}} {value(view)}\n");
            }
        }

        Metric("anshimi_upstream_up", "gauge", "1 unless the last attempt failed transiently.", v => v.State == UpstreamState.Retrying ? 0 : 1);
        Metric("anshimi_upstream_pending", "gauge", "Alarms stored and not yet delivered.", v => v.Pending);
        Metric("anshimi_upstream_delivered_total", "counter", "Alarms the upstream confirmed.", v => v.Delivered);
        Metric("anshimi_upstream_rejected_total", "counter", "Alarms the upstream refused for good (not retried).", v => v.Rejected);
        Metric("anshimi_upstream_failed_attempts_total", "counter", "Transient delivery failures since start.", v => v.FailedAttemptsSinceStart);
        return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }
}
