using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// Streetlight commands and their outcomes on <c>/metrics</c>: <c>anshimi_cloud_bridge_light_commands_total{outcome}</c>
/// (<c>sent</c>, <c>expired_unsent</c>) and <c>anshimi_cloud_bridge_light_outcomes_total{outcome}</c> (<c>confirmed</c>,
/// <c>failed</c>), read from the publisher's and the outcome log's own counts.
/// </summary>
public static class LightMetrics
{
    public static void Register(IMeterFactory meterFactory, MqttLightCommandPublisher publisher, LightOutcomeLog outcomes)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(outcomes);
        Meter meter = meterFactory.Create(CloudBridgeTelemetry.MeterName);
        meter.CreateObservableCounter("anshimi.cloud_bridge.light_commands", () => new[]
        {
            Outcome(publisher.Sent, "sent"),
            Outcome(publisher.ExpiredUnsent, "expired_unsent"),
        }, "{command}", "Light commands handed to the broker, or given up when they expired before the broker took them.");
        meter.CreateObservableCounter("anshimi.cloud_bridge.light_outcomes", () => new[]
        {
            Outcome(outcomes.Confirmed, "confirmed"),
            Outcome(outcomes.Failed, "failed"),
        }, "{light}", "Per-light outcomes the gateways reported: confirmed, or failed (expired, unknown light).");
    }

    private static Measurement<long> Outcome(long value, string outcome) => new(value, new KeyValuePair<string, object?>("outcome", outcome));
}
