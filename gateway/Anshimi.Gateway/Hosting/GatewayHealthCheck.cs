using System.Text.Json;
using Anshimi.Gateway.Broker;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

/// <summary>
/// <c>GET /healthz</c>: healthy while the broker session is up, the cloud is not unreachable and the store answers;
/// the body is <c>{"status","gatewayId","mqtt":{"state","reason","since"},"cloud":{"link","state","reason","since",
/// "downSince"},"outboxDepth","devices":{"registered","seen"}}</c> (<c>link</c>: <c>reachable</c>, or
/// <c>unreachable</c> once down longer than <c>Cloud:UnreachableAfter</c>), 503 with <c>"degraded"</c> otherwise.
/// </summary>
public sealed class GatewayHealthCheck(MqttSession mqtt, BrokerStatus status, CloudLinkStatus cloud, DeviceRegistry registry, AlarmStore store, IOptions<GatewayOptions> options) : IHealthCheck
{
    public const string Name = "gateway";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        (MqttConnectionState _, string reason, DateTimeOffset since) = status.Current;
        MqttConnectionState state = mqtt.State;
        int? depth = null;
        try
        {
            depth = await store.CountOutboxAsync(cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // Reported as null: the health answer must not fail because the store is busy or broken.
        }

        IReadOnlyList<DeviceEntry> devices = registry.Snapshot();
        CloudLinkSnapshot link = cloud.Current;
        var data = new Dictionary<string, object>
        {
            ["gatewayId"] = options.Value.Id,
            ["mqtt"] = new { state = state.ToString().ToLowerInvariant(), reason, since },
            ["cloud"] = new
            {
                link = link.Unreachable ? "unreachable" : "reachable",
                state = link.State.ToString().ToLowerInvariant(),
                reason = link.Reason,
                since = link.Since,
                downSince = link.DownSince,
            },
            ["outboxDepth"] = depth!,
            ["devices"] = new { registered = devices.Count, seen = devices.Count(d => d.LastSeen is not null) },
        };
        return state == MqttConnectionState.Connected && !link.Unreachable && depth is not null
            ? HealthCheckResult.Healthy(data: data)
            : HealthCheckResult.Degraded(data: data);
    }

    /// <summary>The check, and the body and status codes operators and the installer read.</summary>
    public static IServiceCollection AddGatewayHealth(IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<GatewayHealthCheck>(Name);
        services.Configure<HealthCheckOptions>(health =>
        {
            health.ResultStatusCodes[HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable;
            health.ResponseWriter = WriteAsync;
        });
        return services;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var body = new Dictionary<string, object?> { ["status"] = report.Status == HealthStatus.Healthy ? "ok" : "degraded" };
        if (report.Entries.TryGetValue(Name, out HealthReportEntry entry))
        {
            foreach (KeyValuePair<string, object> item in entry.Data)
            {
                body[item.Key] = item.Value;
            }
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), context.RequestAborted);
    }
}
