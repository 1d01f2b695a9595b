using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// Each upstream on <c>/metrics</c>, tagged <c>upstream</c> and <c>kind</c>, read at scrape time from the same views
/// <c>GET /api/upstreams</c> answers: <c>anshimi_upstream_up</c>, <c>anshimi_upstream_pending</c>,
/// <c>anshimi_upstream_delivered_total</c>, <c>anshimi_upstream_rejected_total</c>, <c>anshimi_upstream_failed_attempts_total</c>.
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
        meter.CreateObservableCounter("anshimi.upstream.rejected", () => Observe(v => v.Rejected), "{alarm}", "Alarms the upstream refused for good (not retried).");
        meter.CreateObservableCounter("anshimi.upstream.failed_attempts", () => Observe(v => v.FailedAttemptsSinceStart), "{attempt}", "Transient delivery failures since start.");
    }
}
