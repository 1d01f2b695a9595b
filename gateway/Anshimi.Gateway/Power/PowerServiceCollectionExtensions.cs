using System.Device.I2c;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Power;

public static class PowerServiceCollectionExtensions
{
    /// <summary>The box's UPS supervision from "Power"; nothing runs with sensor <c>none</c>. Needs the device health services.</summary>
    public static IServiceCollection AddPowerSupervision(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PowerOptions>()
            .Bind(configuration.GetSection(PowerOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        string sensor = configuration.GetSection(PowerOptions.SectionName)[nameof(PowerOptions.Sensor)] ?? PowerOptions.NoSensor;
        if (sensor == PowerOptions.NoSensor)
        {
            return services;
        }

        services.TryAddSingleton(sp =>
        {
            PowerOptions power = sp.GetRequiredService<IOptions<PowerOptions>>().Value;
            var settings = new I2cConnectionSettings(power.BusId, power.Address);
            TimeProvider time = sp.GetRequiredService<TimeProvider>();
            Func<I2cDevice> open = power.Sensor == PowerOptions.Ina219Sensor
                ? () => I2cDevice.Create(settings)
                : () => new SimulatedIna219(settings, ScriptedBattery.OnMains(time), power.ShuntOhms);
            return new UpsBattery(open, power);
        });
        services.TryAddSingleton<IPowerOff, PowerOffCommand>();
        services.AddSingleton<CleanShutdown>();
        services.AddSingleton<PowerSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<PowerSupervisor>());
        return services;
    }
}
