using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.Gateway.Snapshots;

public static class SnapshotServiceCollectionExtensions
{
    /// <summary>Doorbell snapshot reassembly, its cloud outbox and its expiry sweep; options from section "Snapshots".</summary>
    public static IServiceCollection AddDoorbellSnapshots(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SnapshotOptions>()
            .Bind(configuration.GetSection(SnapshotOptions.SectionName))
            .Validate(o => o.MaxImageBytes > 0 && o.MaxImageBytes <= SnapshotOptions.MaxImageBytesCeiling, "Snapshots:MaxImageBytes must be 1–" + SnapshotOptions.MaxImageBytesCeiling)
            .Validate(o => o.IncompleteExpiry > TimeSpan.Zero && o.Retention > TimeSpan.Zero && o.SweepInterval > TimeSpan.Zero, "Snapshots intervals must be positive")
            .ValidateOnStart();
        services.AddSingleton<SnapshotMetrics>();
        services.AddSingleton<SnapshotStore>();
        services.AddSingleton<SnapshotOutbox>();
        services.AddSingleton<SnapshotAssembler>();
        services.AddSingleton<SnapshotSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<SnapshotOutbox>());
        services.AddHostedService(sp => sp.GetRequiredService<SnapshotSweeper>());
        return services;
    }
}
