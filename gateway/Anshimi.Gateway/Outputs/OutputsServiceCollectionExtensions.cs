using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Anshimi.Gateway.Outputs;

public static class OutputsServiceCollectionExtensions
{
    /// <summary>The box's siren, strobe and status LED from "Gateway:Outputs"; nothing runs with driver <c>none</c>.</summary>
    public static IServiceCollection AddLocalOutputs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LocalOutputOptions>()
            .Bind(configuration.GetSection(LocalOutputOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        string driver = configuration.GetSection(LocalOutputOptions.SectionName)[nameof(LocalOutputOptions.Driver)] ?? LocalOutputOptions.NoDriver;
        if (driver == LocalOutputOptions.NoDriver)
        {
            return services;
        }

        services.TryAddSingleton<IGpioOutputs>(_ => driver == LocalOutputOptions.LibgpiodDriver ? new LibgpiodOutputs() : new SimulatedGpioOutputs());
        services.AddSingleton<LocalAlarmIndicator>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalAlarmIndicator>());
        return services;
    }
}
