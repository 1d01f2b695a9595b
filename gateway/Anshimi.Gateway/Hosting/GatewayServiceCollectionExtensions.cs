using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Broker;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Firmware;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Outputs;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Power;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Retention;
using Anshimi.Gateway.Snapshots;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Supervision;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Hosting;

public static partial class GatewayServiceCollectionExtensions
{
    /// <summary>Everything the gateway runs: options, store, registry, broker session, pipeline, outboxes, heartbeat, health, supervision, retention.</summary>
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddGatewayOptions(configuration);
        services.AddGatewayStorage();
        services.AddMqttSession();
        services.AddAlarmPipeline();
        services.AddDeviceHealth();
        services.AddDeviceSupervision(configuration);
        services.AddLocalOutputs(configuration);
        services.AddPowerSupervision(configuration);
        services.AddProvisioning(configuration);
        services.AddGatewayBle(configuration);
        services.AddDoorbellSnapshots(configuration);
        services.AddRecordRetention(configuration);
        return services;
    }

    public static IServiceCollection AddGatewayOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>()
            .Bind(configuration.GetSection(GatewayOptions.SectionName))
            .PostConfigure(gateway =>
            {
                if (string.IsNullOrEmpty(gateway.Id) && !string.IsNullOrEmpty(gateway.RegistrySeedFile) && File.Exists(gateway.RegistrySeedFile))
                {
                    gateway.Id = FleetFile.Load(gateway.RegistrySeedFile).GatewayId;
                }
            })
            .ValidateDataAnnotations()
            .Validate(gateway => IsTopicLevel(gateway.Id), "Gateway:Id must be set (or come from the seed file) and be a single MQTT topic level")
            .Validate(gateway => gateway.HeartbeatInterval > TimeSpan.Zero && gateway.OutboxRetryInterval > TimeSpan.Zero && gateway.ActivityFlushInterval > TimeSpan.Zero, "Gateway intervals must be positive")
            .Validate(gateway => gateway.StatusReportInterval > TimeSpan.Zero && gateway.StatusResyncInterval >= gateway.StatusReportInterval, "Gateway:StatusReportInterval must be positive and Gateway:StatusResyncInterval not below it")
            .Validate(gateway => gateway.OutboxRetryMaxInterval >= gateway.OutboxRetryInterval, "Gateway:OutboxRetryMaxInterval must not be below Gateway:OutboxRetryInterval")
            .Validate(gateway => gateway.UplinkQueueCapacity > 0, "Gateway:UplinkQueueCapacity must be positive")
            .Validate(gateway => gateway.AckTimeout > TimeSpan.Zero && gateway.MaxPendingAcks > 0, "Gateway:AckTimeout and Gateway:MaxPendingAcks must be positive")
            .Validate(gateway => gateway.UplinkDeviceBudget > 0 && gateway.UplinkDeviceBudget <= gateway.UplinkQueueCapacity, "Gateway:UplinkDeviceBudget must be positive and not above Gateway:UplinkQueueCapacity")
            .Validate(gateway => gateway.MaxPendingTroubles > 0, "Gateway:MaxPendingTroubles must be positive")
            .Validate(gateway => gateway.Site is null || (Math.Abs(gateway.Site.Latitude) <= 90 && Math.Abs(gateway.Site.Longitude) <= 180), "Gateway:Site must be a latitude (-90..90) and longitude (-180..180)")
            .ValidateOnStart();

        services.AddOptions<CloudLinkOptions>()
            .Bind(configuration.GetSection(CloudLinkOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<MqttClientOptions>()
            .Bind(configuration.GetSection("Mqtt"))
            .PostConfigure<IOptions<GatewayOptions>, IOptions<CloudLinkOptions>>((mqtt, gateway, cloud) =>
            {
                // The at-least-once chain needs a persistent session under a stable client id.
                mqtt.CleanSession = false;
                if (string.IsNullOrEmpty(mqtt.ClientId))
                {
                    mqtt.ClientId = BrokerListeners.AccountClientId("gateway-" + gateway.Value.Id);
                }

                // The gateway's "offline" belongs where the cloud listens: on the cloud endpoint when the box has one.
                if (!cloud.Value.IsSeparate)
                {
                    mqtt.LastWill ??= StatusWill(gateway.Value.Id);
                }
            });

        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    public static IServiceCollection AddGatewayStorage(this IServiceCollection services)
    {
        services.AddSingleton(sp => new GatewayDatabase(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.DatabasePath));
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton<AlarmStore>();
        services.AddSingleton<DeviceLifecycle>();
        services.AddSingleton<StoreResynchronisation>();

        // Registered first: hosted services start in order, and the rest need the registry loaded.
        services.AddHostedService<GatewayStartup>();
        return services;
    }

    /// <summary>
    /// The gateway's broker session and its cloud session (keyed <see cref="CloudLink.SessionKey"/>: a TLS session to
    /// <c>Cloud:Url</c>, or the broker session itself when none is configured), over transports from
    /// <see cref="IMqttTransportFactory"/> (MQTTnet unless one is registered first).
    /// </summary>
    public static IServiceCollection AddMqttSession(this IServiceCollection services)
    {
        services.TryAddSingleton<IMqttTransportFactory, MqttNetTransportFactory>();
        services.AddSingleton(sp => CreateSession(sp, sp.GetRequiredService<IOptions<MqttClientOptions>>().Value, "anshimi.gateway"));
        services.AddKeyedSingleton(CloudLink.SessionKey, (sp, _) =>
        {
            CloudLinkOptions cloud = sp.GetRequiredService<IOptions<CloudLinkOptions>>().Value;
            if (!cloud.IsSeparate)
            {
                return sp.GetRequiredService<MqttSession>();
            }

            string gatewayId = sp.GetRequiredService<IOptions<GatewayOptions>>().Value.Id;
            return CreateSession(sp, cloud.ToClientOptions(gatewayId, StatusWill(gatewayId)), "anshimi.gateway.cloud");
        });
        services.AddSingleton<CloudLinkStatus>();
        return services;
    }

    private static MqttSession CreateSession(IServiceProvider sp, MqttClientOptions options, string meterPrefix)
    {
        ILogger logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Anshimi.Mqtt");
        var session = new MqttSession(sp.GetRequiredService<IMqttTransportFactory>().Create(options), options, message => LogSessionMessage(logger, message));
        sp.GetRequiredService<GatewayMetrics>().Meter.ObserveMqttSession(meterPrefix, session);
        return session;
    }

    private static MqttLastWill StatusWill(string gatewayId) =>
        new() { Topic = Topics.GatewayStatus(gatewayId), Payload = BrokerLink.Offline, Retain = true };

    public static IServiceCollection AddAlarmPipeline(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<GatewayMetrics>();
        GatewayHealthCheck.AddGatewayHealth(services);
        services.AddSingleton<RejectLog>();
        services.AddSingleton<BrokerStatus>();
        services.AddSingleton<GatewayInbox>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton(sp =>
        {
            GatewayOptions gateway = sp.GetRequiredService<IOptions<GatewayOptions>>().Value;
            return new RedeliveryPolicy(gateway.OutboxRetryInterval, gateway.OutboxRetryMaxInterval);
        });
        services.AddSingleton<DownlinkSealer>();
        services.AddSingleton<DeviceDownlink>();
        services.AddSingleton<DeviceRekey>();

        // Transient: each consumer owns one, as its codec's MAC buffer must not be shared between threads.
        services.AddTransient<UplinkAuthenticator>();
        services.AddSingleton<AlarmPipeline>();
        services.AddSingleton<OperatorAckRelay>();
        services.AddSingleton<CloudCommands>();
        services.AddSingleton<AlarmOutbox>();

        // Consumers start before the broker session that feeds them; stopping runs in reverse, so
        // intake ends (and "offline" is announced) before the consumers stop.
        services.AddHostedService<DeviceActivityFlusher>();
        services.AddHostedService<InboxWorker>();
        services.AddSingleton<FirmwareUpdateStore>();
        services.AddSingleton<LightCarousel>();
        services.AddSingleton<FirmwareDistribution>();
        services.AddHostedService(sp => sp.GetRequiredService<FirmwareDistribution>());
        services.AddHostedService(sp => sp.GetRequiredService<AlarmOutbox>());
        services.AddHostedService<GatewayHeartbeat>();
        services.AddHostedService<BrokerLink>();

        // After the broker link, so device uplinks are subscribed before a shared session connects; stops first,
        // so "offline" reaches the cloud before the box session closes.
        services.AddHostedService<CloudLink>();
        return services;
    }

    private static bool IsTopicLevel(string id) =>
        !string.IsNullOrEmpty(id) && id.IndexOfAny(['/', '+', '#', '\0']) < 0;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogSessionMessage(ILogger logger, string message);
}
