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
    public static void Register(IMeterFactory meterFactory, UpstreamDispatcher dispatcher, UpstreamDeliveryStore store)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter meter = meterFactory.Create(CloudBridgeTelemetry.MeterName);
        IEnumerable<Measurement<long>> Observe(Func<UpstreamStatusView, long> value)
        {
            IReadOnlyList<UpstreamStatusView> views;
            try
            {
                views = UpstreamEndpoints.ViewsAsync(dispatcher, store, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                // A busy or broken store leaves these series out of one scrape rather than failing it.
                return [];
            }

            return views.Select(view => new Measurement<long>(value(view),
                new KeyValuePair<string, object?>("upstream", view.Name), new KeyValuePair<string, object?>("kind", view.Kind)));
        }

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
}
