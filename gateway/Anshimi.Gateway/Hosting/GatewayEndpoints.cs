using Anshimi.Gateway.Broker;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

public static class GatewayEndpoints
{
    /// <summary><c>GET /healthz</c> (200 when the broker session is up, else 503) and <c>GET /metrics</c>.</summary>
    public static IEndpointRouteBuilder MapGatewayEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", GetHealthAsync);
        endpoints.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType));
        return endpoints;
    }

    private static async Task<IResult> GetHealthAsync(
        MqttSession mqtt,
        BrokerStatus status,
        DeviceRegistry registry,
        AlarmStore store,
        IOptions<GatewayOptions> options,
        CancellationToken cancellationToken)
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
        bool healthy = state == MqttConnectionState.Connected && depth is not null;
        var body = new
        {
            status = healthy ? "ok" : "degraded",
            gatewayId = options.Value.Id,
            mqtt = new { state = state.ToString().ToLowerInvariant(), reason, since },
            outboxDepth = depth,
            devices = new
            {
                registered = devices.Count,
                seen = devices.Count(d => d.LastSeen is not null),
            },
        };
        return Results.Json(body, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
