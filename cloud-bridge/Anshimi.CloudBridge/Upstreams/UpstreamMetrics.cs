using System.Data.Common;
using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// Each upstream on <c>/metrics</c>, tagged <c>upstream</c> and <c>kind</c>, read at scrape time from the same views
/// <c>GET /api/upstreams</c> answers: <c>anshimi_upstream_up</c>, <c>anshimi_upstream_pending</c>,
/// <c>anshimi_upstream_delivered_total</c>, <c>anshimi_upstream_held</c>, <c>anshimi_upstream_failed_attempts_total</c>, and for
/// DC-09 upstreams <c>anshimi_upstream_unreadable_answers_total</c>.
/// </summary>
public static class UpstreamMetrics
{
    /// <summary>How long one scrape waits for the store; a busy or unreachable store leaves the series out of that scrape.</summary>
    public static readonly TimeSpan StoreBudget = TimeSpan.FromSeconds(2);

    public static void Register(IMeterFactory meterFactory, UpstreamDispatcher dispatcher, UpstreamDeliveryStore store)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter meter = meterFactory.Create(CloudBridgeTelemetry.MeterName);
        var views = new ScrapeViews(dispatcher, store);
        IEnumerable<Measurement<long>> Observe(Func<UpstreamStatusView, long> value) =>
            views.Read().Select(view => new Measurement<long>(value(view),
                new KeyValuePair<string, object?>("upstream", view.Name), new KeyValuePair<string, object?>("kind", view.Kind)));

        meter.CreateObservableGauge("anshimi.upstream.up", () => Observe(v => v.State == UpstreamState.Retrying ? 0 : 1), "{upstream}", "1 unless the last attempt failed transiently.");
        meter.CreateObservableGauge("anshimi.upstream.pending", () => Observe(v => v.Pending), "{alarm}", "Alarms stored and not yet delivered.");
        meter.CreateObservableCounter("anshimi.upstream.delivered", () => Observe(v => v.Delivered), "{alarm}", "Alarms the upstream confirmed.");
        meter.CreateObservableGauge("anshimi.upstream.held", () => Observe(v => v.Held), "{alarm}", "Alarms the upstream cannot take, pending until a person acts and the bridge restarts.");
        meter.CreateObservableCounter("anshimi.upstream.failed_attempts", () => Observe(v => v.FailedAttemptsSinceStart), "{attempt}", "Transient delivery failures since start.");
        meter.CreateObservableCounter("anshimi.upstream.unreadable_answers",
            () => dispatcher.Upstreams.OfType<Dc09.Dc09Upstream>().Select(u => new Measurement<long>(u.UnreadableAnswers,
                new KeyValuePair<string, object?>("upstream", u.Name), new KeyValuePair<string, object?>("kind", u.Kind))),
            "{answer}", "DC-09 receiver answers that settled nothing (unreadable header, another sequence number) since start.");
    }

    /// <summary>The views at scrape time within <see cref="StoreBudget"/>, on either storage engine; none while the store fails.</summary>
    private sealed class ScrapeViews(UpstreamDispatcher dispatcher, UpstreamDeliveryStore store)
    {
        // After a failed read the rest of that scrape's series (observed one after another) do not wait on the store again.
        private static readonly TimeSpan QuietAfterFault = TimeSpan.FromSeconds(5);

        private readonly Lock _gate = new();
        private long? _faultAt;

        public IReadOnlyList<UpstreamStatusView> Read()
        {
            lock (_gate)
            {
                if (_faultAt is long at && Environment.TickCount64 - at < (long)QuietAfterFault.TotalMilliseconds)
                {
                    return [];
                }

                using var budget = new CancellationTokenSource(StoreBudget);
                try
                {
                    return UpstreamEndpoints.ViewsAsync(dispatcher, store, budget.Token).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is DbException || (e is OperationCanceledException && budget.IsCancellationRequested))
                {
                    // SQLite's and PostgreSQL's faults alike, or a store still retrying: left out of this scrape, not failing it.
                    _faultAt = Environment.TickCount64;
                    return [];
                }
            }
        }
    }
}
