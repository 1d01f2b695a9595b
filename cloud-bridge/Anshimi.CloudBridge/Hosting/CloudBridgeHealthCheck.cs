using System.Data.Common;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Mqtt;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>
/// Healthy when the store answers and the relay is subscribed at the broker; degraded while MQTT (re)connects; unhealthy,
/// with the reason, when the store fails or does not answer within <see cref="StoreAnswersWithin"/> — one attempt, not the
/// stores' retries over <c>Storage:RetryFor</c>, so a probe answers while the database is down.
/// </summary>
public sealed class CloudBridgeHealthCheck : IHealthCheck
{
    public static readonly TimeSpan StoreAnswersWithin = TimeSpan.FromSeconds(3);

    private readonly AlarmStore _store;
    private readonly MqttSession _mqtt;
    private readonly GatewayIngress _relay;

    public CloudBridgeHealthCheck(AlarmStore store, MqttSession mqtt, GatewayIngress relay)
    {
        _store = store;
        _mqtt = mqtt;
        _relay = relay;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(StoreAnswersWithin);
        try
        {
            await _store.ProbeAsync(probe.Token);
        }
        catch (DbException ex)
        {
            return HealthCheckResult.Unhealthy("alarm store unavailable: " + ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("alarm store did not answer within " + StoreAnswersWithin.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s");
        }

        return _relay.IsSubscribed
            ? HealthCheckResult.Healthy("store ok, subscribed to gateway events")
            : HealthCheckResult.Degraded("store ok, mqtt " + _mqtt.State.ToString().ToLowerInvariant());
    }
}
