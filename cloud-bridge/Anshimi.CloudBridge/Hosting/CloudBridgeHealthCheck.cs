using Anshimi.CloudBridge.Alarms;
using Anshimi.Mqtt;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Anshimi.CloudBridge.Hosting;

/// <summary>Healthy when the store answers and the broker session is up; degraded while MQTT reconnects.</summary>
public sealed class CloudBridgeHealthCheck : IHealthCheck
{
    private readonly AlarmStore _store;
    private readonly IMqttClient _mqtt;

    public CloudBridgeHealthCheck(AlarmStore store, IMqttClient mqtt)
    {
        _store = store;
        _mqtt = mqtt;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _store.CountAsync(cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            return HealthCheckResult.Unhealthy("alarm store unavailable: " + ex.Message);
        }

        return _mqtt.State == MqttConnectionState.Connected
            ? HealthCheckResult.Healthy("store ok, mqtt connected")
            : HealthCheckResult.Degraded("store ok, mqtt " + _mqtt.State.ToString().ToLowerInvariant());
    }
}
