using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.App;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Cameras;
using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Gateways;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Map;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Retention;
using Anshimi.CloudBridge.Sites;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Mqtt;
using System.Diagnostics.Metrics;
using Anshimi.Protocol.Upstream;
using Anshimi.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Hosting;

public static partial class CloudBridgeExtensions
{
    /// <summary>
    /// Stable MQTT client id: with a persistent session the broker keeps our QoS 1 backlog under it. It holds a
    /// '/', so no gateway certificate (its CN, a gateway id, names the gateway's session) can take it over. An instance
    /// with its own identity sends <c>anshimi/cloud-bridge-{instance}</c> (<see cref="SiteAuthority.BridgeClientId"/>).
    /// </summary>
    public const string DefaultClientId = "anshimi/cloud-bridge";

    /// <summary>The bridge identity the configured client certificate names, or the bridge's own when it names none.</summary>
    private static string BridgeIdentityOf(MqttClientOptions mqtt) =>
        mqtt.TlsClientCertificateFile is { } file && SiteAuthority.CommonNameOf(file) is { } cn && SiteAuthority.InstanceOf(cn) is not null
            ? cn
            : SiteAuthority.BridgeIdentity;

    /// <summary>The instance the configured client certificate names (<c>anshimi-cloud-bridge-{instance}</c>), or null.</summary>
    private static string? CertificateInstance(MqttClientOptions mqtt) => SiteAuthority.InstanceOf(BridgeIdentityOf(mqtt));

    /// <summary>Registers the relay, store, ack outbox, API services and the MQTT client.</summary>
    public static WebApplicationBuilder AddCloudBridge(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        builder.AddServiceDefaults(CloudBridgeTelemetry.Service);

        services.AddOptions<CloudBridgeOptions>()
            .Bind(builder.Configuration.GetSection(CloudBridgeOptions.SectionName))
            .PostConfigure<IOptions<MqttClientOptions>>((o, mqtt) =>
                o.InstanceId = string.IsNullOrEmpty(o.InstanceId) ? CertificateInstance(mqtt.Value) ?? Environment.MachineName : o.InstanceId)
            .Validate(o => !string.IsNullOrWhiteSpace(o.DataDirectory), "CloudBridge:DataDirectory must be set.")
            .Validate(o => o.AckRetryInterval > TimeSpan.Zero && o.AckRetryMaxInterval >= o.AckRetryInterval,
                "CloudBridge:AckRetryInterval must be positive and not above CloudBridge:AckRetryMaxInterval.")
            .Validate(o => o.PublishTimeout > TimeSpan.Zero, "CloudBridge:PublishTimeout must be positive.")
            .Validate(o => o.InstancesProblem() is null, "CloudBridge:InstanceId must be 1 to 64 letters, digits, '-' or '_', and CloudBridge:IngressShareGroup letters, digits, '-' or '_'.")
            .Validate<IOptions<MqttClientOptions>>((o, mqtt) => CertificateInstance(mqtt.Value) is not { } named || named == o.InstanceId,
                "CloudBridge:InstanceId must be the instance its certificate names (Mqtt:TlsClientCertificateFile, CN anshimi-cloud-bridge-<instance>, from 'bridges issue').")
            .Validate(o => o.ListenReconnect.InitialDelay > TimeSpan.Zero && o.ListenReconnect.MaxDelay >= o.ListenReconnect.InitialDelay,
                "CloudBridge:ListenReconnect:InitialDelay must be positive and not above CloudBridge:ListenReconnect:MaxDelay.")
            .ValidateOnStart();
        services.AddStorage(builder.Configuration);
        AdminListener.Listen(builder);
        services.AddSingleton<AdminListener>();
        services.AddOptions<MqttClientOptions>()
            .Bind(builder.Configuration.GetSection("Mqtt"))
            .PostConfigure(o =>
            {
                o.ClientId = string.IsNullOrWhiteSpace(o.ClientId) ? SiteAuthority.BridgeClientId(BridgeIdentityOf(o)) : o.ClientId;
            });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMqttTransportFactory, MqttNetTransportFactory>();
        services.TryAddSingleton(sp =>
        {
            MqttClientOptions options = sp.GetRequiredService<IOptions<MqttClientOptions>>().Value;
            ILogger logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Anshimi.Mqtt");
            var session = new MqttSession(sp.GetRequiredService<IMqttTransportFactory>().Create(options), options, message => LogMqttDiagnostic(logger, message));
            sp.GetRequiredService<IMeterFactory>().Create(CloudBridgeTelemetry.MeterName).ObserveMqttSession("anshimi.cloud_bridge", session);
            return session;
        });
        services.AddOptions<DeviceHealthOptions>().Bind(builder.Configuration.GetSection(DeviceHealthOptions.SectionName))
            .Validate(o => o.GatewayDownAfter > TimeSpan.Zero, "DeviceHealth:GatewayDownAfter must be positive.").ValidateOnStart();
        services.AddOptions<RetentionOptions>().Bind(builder.Configuration.GetSection(RetentionOptions.SectionName))
            .Validate(o => o.Interval > TimeSpan.Zero && o.Periods().All(p => p.Period > TimeSpan.Zero), "Retention: Interval and every period must be positive.")
            .Validate(o => o.Periods().All(p => o.AuditLog >= p.Period), "Retention:AuditLog must not be shorter than the data it records.")
            .ValidateOnStart();

        services.AddSingleton(sp => new AlarmStore(Database(sp, StoreFile.Alarms), sp.GetServices<IAlarmStoreHook>()));
        services.AddSingleton(sp => new CloudSnapshotStore(Database(sp, StoreFile.Snapshots)));
        services.AddSingleton(sp => new DeviceHealthStore(Database(sp, StoreFile.Devices)));
        services.AddSingleton(sp => new AuditLog(Database(sp, StoreFile.Alarms), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ISnapshotReader, StoredSnapshotReader>();
        services.AddSingleton(sp =>
        {
            CloudBridgeOptions options = sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value;
            return DistrictDirectory.Load(options.DistrictsGeoJson, options.NeighbourhoodsGeoJson);
        });
        builder.AddNearbyCameras();
        services.AddSingleton<DistrictOutlines>();
        builder.AddOperatorSignIn();
        services.AddSingleton(sp =>
        {
            CloudBridgeOptions options = sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value;
            return new RedeliveryPolicy(options.AckRetryInterval, options.AckRetryMaxInterval);
        });
        services.AddSingleton<AlarmFeed>();
        AddAlarmChangesAcrossInstances(builder);
        services.AddSingleton<AlarmActions>();
        services.AddOptions<AlarmCaseOptions>().Bind(builder.Configuration.GetSection(AlarmCaseOptions.SectionName))
            .Validate(o => o.Window > TimeSpan.Zero, "Cases:Window must be positive.").ValidateOnStart();
        services.AddSingleton<AlarmCases>();

        services.AddSingleton(sp => new DeviceBindingStore(Database(sp, StoreFile.Bindings)));
        services.AddSingleton<IAlarmGatewayLookup, AlarmGatewayLookup>();
        services.AddSingleton<IGatewayAuthorization, BindingAuthorization>();
        services.AddGatewayIngress()
            .AddGatewayEnvelopeHandler<DeviceBoundHandler>()
            .AddGatewayEnvelopeHandler<AlarmEnvelopeHandler>()
            .AddGatewayEnvelopeHandler<GatewayHeartbeatHandler>()
            .AddGatewayEnvelopeHandler<AckRelayedHandler>()
            .AddGatewayEnvelopeHandler<SnapshotHandler>()
            .AddGatewayEnvelopeHandler<TroubleHandler>()
            .AddGatewayEnvelopeHandler<DeviceStatusHandler>();

        // Singletons first so the API and tests reach the same instances the host runs.
        services.AddSingleton<OperatorAckOutbox>();
        services.AddHostedService(sp => sp.GetRequiredService<OperatorAckOutbox>());
        services.AddSingleton<RetentionPurge>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionPurge>());

        builder.AddUpstreams();

        builder.AddEscorts();
        builder.AddAppApi();
        services.AddMapLayers();
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<CloudBridgeHealthCheck>("cloud-bridge");
        return builder;
    }

    /// <summary>On PostgreSQL, instances share alarms: each notifies the others of its writes and listens for theirs.</summary>
    private static void AddAlarmChangesAcrossInstances(WebApplicationBuilder builder)
    {
        var storage = new StorageOptions();
        builder.Configuration.GetSection(StorageOptions.SectionName).Bind(storage);
        if (storage.Provider != StorageProvider.PostgreSql)
        {
            return;
        }

        IServiceCollection services = builder.Services;
        services.AddSingleton(sp => new AlarmChangeNotices(sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value.InstanceId));
        services.AddSingleton<IAlarmStoreHook>(sp => sp.GetRequiredService<AlarmChangeNotices>());
        services.AddSingleton(sp => new AlarmChangeListener(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<AlarmChangeNotices>(),
            sp.GetRequiredService<AlarmStore>(),
            sp.GetRequiredService<DistrictDirectory>(),
            sp.GetRequiredService<AlarmFeed>(),
            sp.GetRequiredService<IOptions<CloudBridgeOptions>>().Value.ListenReconnect,
            sp.GetRequiredService<ILogger<AlarmChangeListener>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AlarmChangeListener>());
    }

    /// <summary>
    /// The console (static files at /), the operator API, /healthz, and — for central staff, or anyone on the admin
    /// listener — /metrics, /api/upstreams and the OpenAPI document. Every response carries the security headers.
    /// </summary>
    public static WebApplication MapCloudBridge(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseSecurityHeaders();
        AdminListener.KeepToAdminPaths(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi().RequireAuthorization(OperatorAuthentication.StatusPolicy);
        app.MapDefaultEndpoints(metrics => metrics.RequireAuthorization(OperatorAuthentication.StatusPolicy));
        app.MapAlarmApi();
        app.MapUpstreams();
        app.MapAppApi();
        return app;
    }

    internal static StoreDatabase Database(IServiceProvider services, StoreFile file) => services.GetRequiredService<StoreDatabases>().Get(file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT session: {Message}")]
    private static partial void LogMqttDiagnostic(ILogger logger, string message);
}
