using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Supervision;

public static class SupervisionServiceCollectionExtensions
{
    /// <summary>Per-profile silence supervision: options from "Gateway:Supervision", the tracker, its sink and the periodic check.</summary>
    public static IServiceCollection AddDeviceSupervision(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSupervisionOptions(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISupervisionSink, MetricsSupervisionSink>();
        services.AddSingleton<SupervisionTracker>();
        services.AddHostedService<SupervisionMonitor>();
        return services;
    }

    public static IServiceCollection AddSupervisionOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SupervisionOptions>()
            .Configure(supervision => supervision.Bind(configuration.GetSection(SupervisionOptions.SectionName)))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SupervisionOptions>, SupervisionOptionsValidator>());
        return services;
    }
}
