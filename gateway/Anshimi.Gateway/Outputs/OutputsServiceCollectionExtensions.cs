using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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

        services.TryAddSingleton(sp => OpenChip(sp.GetRequiredService<IOptions<LocalOutputOptions>>().Value));
        services.AddSingleton<LocalAlarmIndicator>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalAlarmIndicator>());
        return services;
    }

    /// <summary>
    /// The chip the outputs are on. On the Pi it is libgpiod v1 (<c>libgpiod.so.2</c>, Debian 12's <c>libgpiod2</c>
    /// 1.6), chosen explicitly: dotnet/iot's automatic choice would take its register driver on a Raspberry Pi.
    /// </summary>
    /// <exception cref="GpioException">libgpiod is missing or the chip cannot be opened.</exception>
    internal static GpioController OpenChip(LocalOutputOptions options)
    {
        if (options.Driver != LocalOutputOptions.LibgpiodDriver)
        {
            return new GpioController(new SimulatedGpioDriver());
        }

        try
        {
            return new GpioController(new LibGpiodDriver(options.Chip));
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or IOException or DllNotFoundException or GpiodException or ArgumentException)
        {
            throw new GpioException($"GPIO chip gpiochip{options.Chip} cannot be opened through libgpiod (apt-get install libgpiod2): {ex.Message}", ex);
        }
    }
}
