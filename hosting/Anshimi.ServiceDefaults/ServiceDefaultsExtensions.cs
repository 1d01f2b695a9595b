using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Anshimi.ServiceDefaults;

/// <summary>
/// What every Anshimi service host shares: console logging for journald, health checks, and OpenTelemetry metrics
/// and traces (a Prometheus scrape at <c>/metrics</c>, OTLP only when an endpoint is configured).
/// </summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthPath = "/healthz";
    public const string MetricsPath = "/metrics";

    /// <summary>The setting that turns OTLP export on; the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> does too.</summary>
    public const string OtlpEndpointSetting = "OpenTelemetry:Otlp:Endpoint";

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>; the standard <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> does too.</summary>
    public const string OtlpProtocolSetting = "OpenTelemetry:Otlp:Protocol";

    /// <summary>Logging, health checks and telemetry for <paramref name="service"/>.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, ServiceIdentity service)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(service);

        // One line per entry, no colours: journald stamps and colours lines itself.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.ColorBehavior = LoggerColorBehavior.Disabled;
            console.UseUtcTimestamp = true;
        });

        builder.Services.AddHealthChecks();
        builder.Services.AddServiceTelemetry(builder.Configuration, service);
        if (OtlpEndpoint(builder.Configuration) is not null)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
        }

        return builder;
    }

    /// <summary>
    /// OpenTelemetry metrics and tracing for <paramref name="service"/>: its own meters and activity sources, the
    /// runtime, ASP.NET Core and outgoing HTTP; the Prometheus scrape; OTLP export only when configured.
    /// </summary>
    public static IServiceCollection AddServiceTelemetry(this IServiceCollection services, IConfiguration configuration, ServiceIdentity service)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(service);
        IOpenTelemetryBuilder telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(service.Name, serviceVersion: service.Version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. service.Meters])
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddPrometheusExporter(prometheus =>
                    {
                        // A box is scraped by one Prometheus: every scrape shows the counters as they are now.
                        prometheus.ScrapeResponseCacheDurationMilliseconds = 0;

                        // Series keep the names and labels dashboards know; target_info still names the service.
                        prometheus.ScopeInfoEnabled = false;
                    });
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource([.. service.ActivitySources])
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsInfrastructure(context.Request.Path))
                    .AddHttpClientInstrumentation();
            });

        // Meters of the same name made by another host's factory in this process (tests run several) are not ours.
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) =>
        {
            IMeterFactory own = provider.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Scope is not null && !ReferenceEquals(instrument.Meter.Scope, own) ? MetricStreamConfiguration.Drop : null);
        });

        if (OtlpEndpoint(configuration) is Uri endpoint)
        {
            telemetry.UseOtlpExporter(OtlpProtocol(configuration), endpoint);
        }

        return services;
    }

    /// <summary>
    /// <c>GET /healthz</c> (the registered health checks) and <c>GET /metrics</c> (Prometheus text);
    /// <paramref name="metrics"/> adds the service's own conventions to the scrape endpoint, such as who may read it.
    /// </summary>
    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder endpoints, Action<IEndpointConventionBuilder>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // Options come from the service (response body, status per result), so each keeps what its operators read.
        endpoints.MapHealthChecks(HealthPath);
        IEndpointConventionBuilder scrape = endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
        metrics?.Invoke(scrape);
        return endpoints;
    }

    /// <summary>The configured OTLP endpoint, or null when export is off; a value that is not an absolute http(s) URI is a configuration error.</summary>
    public static Uri? OtlpEndpoint(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? value = configuration[OtlpEndpointSetting];
        string key = OtlpEndpointSetting;
        if (string.IsNullOrWhiteSpace(value))
        {
            value = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
            key = "OTEL_EXPORTER_OTLP_ENDPOINT";
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"{key} must be an absolute http or https URI, got '{value}' (configuration).");
        }

        return endpoint;
    }

    private static OtlpExportProtocol OtlpProtocol(IConfiguration configuration)
    {
        string? value = configuration[OtlpProtocolSetting];
        string key = OtlpProtocolSetting;
        if (string.IsNullOrWhiteSpace(value))
        {
            value = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"];
            key = "OTEL_EXPORTER_OTLP_PROTOCOL";
        }

        return value?.Trim() switch
        {
            null or "" or "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => throw new InvalidOperationException($"{key} must be grpc or http/protobuf, got '{value}' (configuration)."),
        };
    }

    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments(HealthPath, StringComparison.Ordinal) || path.StartsWithSegments(MetricsPath, StringComparison.Ordinal);
}

/// <summary>A service as telemetry names it: its name and version, and the meters and activity sources it owns.</summary>
public sealed class ServiceIdentity(string name, Assembly assembly, IReadOnlyList<string> meters, IReadOnlyList<string> activitySources)
{
    public string Name { get; } = name;

    public string? Version { get; } =
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString();

    public IReadOnlyList<string> Meters { get; } = meters;

    public IReadOnlyList<string> ActivitySources { get; } = activitySources;
}
