using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Upstreams.Dc09;
using Anshimi.CloudBridge.Upstreams.IotHub;
using Anshimi.CloudBridge.Upstreams.Webhooks;
using Anshimi.Mqtt;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Upstreams;

public static class UpstreamExtensions
{
    /// <summary>
    /// Registers the configured upstreams (section "Upstreams", validated at start), the durable
    /// delivery outbox hooked into the alarm store, and the dispatcher that delivers from it.
    /// </summary>
    public static WebApplicationBuilder AddUpstreams(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<UpstreamsOptions>().Bind(builder.Configuration.GetSection(UpstreamsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UpstreamsOptions>, UpstreamsOptionsValidator>();
        services.AddSingleton<UpstreamWake>();
        services.AddSingleton<IAlarmStoreHook>(sp => new UpstreamOutboxHook(
            UpstreamNames(sp.GetRequiredService<IOptions<UpstreamsOptions>>().Value), sp.GetRequiredService<UpstreamWake>()));
        services.AddSingleton(sp => new UpstreamDeliveryStore(
            sp.GetRequiredService<AlarmStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<MqttClientOptions>>().Value.ClientId!));
        services.AddSingleton<IReadOnlyList<IUpstream>>(CreateUpstreams);
        services.AddSingleton(sp =>
        {
            var dispatcher = new UpstreamDispatcher(
                sp.GetRequiredService<IReadOnlyList<IUpstream>>(),
                sp.GetRequiredService<UpstreamDeliveryStore>(),
                sp.GetRequiredService<AlarmStore>(),
                sp.GetRequiredService<UpstreamWake>(),
                sp.GetRequiredService<InstanceLease>(),
                sp.GetRequiredService<IOptions<UpstreamsOptions>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<UpstreamDispatcher>>());
            UpstreamMetrics.Register(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), dispatcher, sp.GetRequiredService<UpstreamDeliveryStore>());
            return dispatcher;
        });
        services.AddHostedService(sp => sp.GetRequiredService<UpstreamDispatcher>());
        return builder;
    }

    public static IReadOnlyList<string> UpstreamNames(UpstreamsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [.. options.Dc09.Select(o => o.Name), .. options.Webhooks.Select(o => o.Name), .. options.IotHub.Select(o => o.Name)];
    }

    private static List<IUpstream> CreateUpstreams(IServiceProvider services)
    {
        UpstreamsOptions options = services.GetRequiredService<IOptions<UpstreamsOptions>>().Value;
        TimeProvider time = services.GetRequiredService<TimeProvider>();
        SiteSurroundings surroundings = services.GetRequiredService<SiteSurroundings>();
        var upstreams = new List<IUpstream>();
        upstreams.AddRange(options.Dc09.Select(o => new Dc09Upstream(o, services.GetRequiredService<UpstreamDeliveryStore>(), time, services.GetRequiredService<ILogger<Dc09Upstream>>(), surroundings)));
        upstreams.AddRange(options.Webhooks.Select(o => new WebhookUpstream(o, time, surroundings)));
        upstreams.AddRange(options.IotHub.Select(o => new IotHubUpstream(o, services.GetRequiredService<IMqttTransportFactory>(), time, surroundings)));
        return upstreams;
    }
}
