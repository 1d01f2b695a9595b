using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.App;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Hosting;

public static partial class CloudBridgeExtensions
{
    /// <summary>Stable MQTT client id: with a persistent session the broker keeps our QoS 1 backlog under it.</summary>
    public const string DefaultClientId = "anshimi-cloud-bridge";

    /// <summary>Registers the relay, store, ack outbox, API services and the MQTT client.</summary>
    public static WebApplicationBuilder AddCloudBridge(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;

        services.AddOptions<CloudBridgeOptions>()
            .Bind(builder.Configuration.GetSection(CloudBridgeOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.DataDirectory), "CloudBridge:DataDirectory must be set.")
            .Validate(o => o.AckRetryInterval > TimeSpan.Zero && o.AckRetryMaxInterval >= o.AckRetryInterval,
                "CloudBridge:AckRetryInterval must be positive and not above CloudBridge:AckRetryMaxInterval.")
            .Validate(o => o.PublishTimeout > TimeSpan.Zero, "CloudBridge:PublishTimeout must be positive.")
            .ValidateOnStart();
        services.AddOptions<MqttClientOptions>()
            .Bind(builder.Configuration.GetSection("Mqtt"))
            .PostConfigure(o => o.ClientId = string.IsNullOrWhiteSpace(o.ClientId) ? DefaultClientId : o.ClientId);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMqttClientFactory>(sp =>
        {
            ILogger logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Anshimi.Mqtt");
            return new MosquittoClientFactory(message => LogMqttDiagnostic(logger, message));
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<IMqttClientFactory>().Create(sp.GetRequiredService<IOptions<MqttClientOptions>>().Value));
        services.AddSingleton(sp => new AlarmStore(sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value.DataDirectory));
        services.AddSingleton(sp => DistrictDirectory.Load(sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value.DistrictsGeoJson));
        services.AddSingleton(sp =>
        {
            CloudBridgeOptions options = sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value;
            return new RedeliveryPolicy(options.AckRetryInterval, options.AckRetryMaxInterval);
        });
        services.AddSingleton<AlarmFeed>();
        services.AddSingleton<RelayStatistics>();
        services.AddSingleton<MalformedEnvelopeLog>();
        services.AddSingleton<AlarmActions>();

        // Singletons first so the API and tests reach the same instances the host runs.
        services.AddSingleton<AlarmRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<AlarmRelay>());
        services.AddSingleton<OperatorAckOutbox>();
        services.AddHostedService(sp => sp.GetRequiredService<OperatorAckOutbox>());

        builder.AddEscorts();
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<CloudBridgeHealthCheck>("cloud-bridge");
        return builder;
    }

    /// <summary>The console (static files at /), the operator API, /healthz and the OpenAPI document.</summary>
    public static WebApplication MapCloudBridge(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapOpenApi();
        app.MapHealthChecks("/healthz");
        app.MapAlarmApi();
        app.MapAppApi();
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "libmosquitto: {Message}")]
    private static partial void LogMqttDiagnostic(ILogger logger, string message);
}
