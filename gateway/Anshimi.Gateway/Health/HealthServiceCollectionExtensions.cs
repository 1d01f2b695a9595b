using Anshimi.Gateway.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Anshimi.Gateway.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// Device health, gateway-raised troubles sent upstream, and device status reports. Registers the supervision
    /// sink, so call it before <see cref="SupervisionServiceCollectionExtensions.AddDeviceSupervision"/>.
    /// </summary>
    public static IServiceCollection AddDeviceHealth(this IServiceCollection services)
    {
        services.AddSingleton<DeviceHealthTracker>();
        services.AddSingleton<HealthStore>();
        services.AddSingleton<TroubleOutbox>();
        services.AddSingleton<MetricsSupervisionSink>();
        services.TryAddSingleton<ISupervisionSink, HealthSupervisionSink>();
        services.AddSingleton<DeviceStatusReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<TroubleOutbox>());
        services.AddHostedService(sp => sp.GetRequiredService<DeviceStatusReporter>());
        return services;
    }
}
