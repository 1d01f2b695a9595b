using Anshimi.Gateway.Lights;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

public static class BleServiceCollectionExtensions
{
    /// <summary>BLE ingestion and streetlight fan-out: options from "Gateway:Ble", the radio (unless a factory is registered first), the fan-out.</summary>
    public static IServiceCollection AddGatewayBle(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BleOptions>()
            .Bind(configuration.GetSection(BleOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BleOptions>, BleOptionsValidator>());
        services.TryAddSingleton<IBleTransportFactory, ConfiguredBleTransportFactory>();
        services.AddSingleton<BleMetrics>();
        services.AddSingleton<BleBroadcaster>();
        services.AddSingleton<LightStore>();
        services.AddSingleton<LightFanout>();
        services.AddSingleton<EscortKeyDelivery>();
        services.AddSingleton<BleIngestion>();
        services.AddSingleton<BleRadio>();
        services.AddHostedService(sp => sp.GetRequiredService<BleRadio>());
        return services;
    }
}
