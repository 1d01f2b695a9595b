using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.Gateway.Retention;

public static class RetentionServiceCollectionExtensions
{
    /// <summary>The hourly purge of delivered alarms and troubles past their retention; options from section "Retention".</summary>
    public static IServiceCollection AddRecordRetention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName))
            .Validate(o => o.Alarms >= RetentionOptions.Shortest, "Retention:Alarms must be at least " + RetentionOptions.Shortest.TotalDays + " day")
            .Validate(o => o.Troubles >= RetentionOptions.Shortest, "Retention:Troubles must be at least " + RetentionOptions.Shortest.TotalDays + " day")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Retention:SweepInterval must be positive")
            .ValidateOnStart();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        return services;
    }
}
