using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Mqtt;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>Healthy when the store answers and the relay is subscribed at the broker; degraded while MQTT (re)connects.</summary>
public sealed class CloudBridgeHealthCheck : IHealthCheck
{
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
        try
        {
            await _store.CountAsync(cancellationToken);
        }
        catch (System.Data.Common.DbException ex)
        {
            return HealthCheckResult.Unhealthy("alarm store unavailable: " + ex.Message);
        }

        return _relay.IsSubscribed
            ? HealthCheckResult.Healthy("store ok, subscribed to gateway events")
            : HealthCheckResult.Degraded("store ok, mqtt " + _mqtt.State.ToString().ToLowerInvariant());
    }
}
