using Anshimi.Geo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

public static class ProvisioningServiceCollectionExtensions
{
    /// <summary>Installer provisioning: hello board, broker accounts, registry changes, installer API. Nothing runs unless Provisioning:Enabled.</summary>
    public static IServiceCollection AddProvisioning(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProvisioningOptions>()
            .Bind(configuration.GetSection(ProvisioningOptions.SectionName))
            .PostConfigure<IOptions<GatewayOptions>>((provisioning, gateway) =>
            {
                if (string.IsNullOrEmpty(provisioning.AdminTokenFile))
                {
                    provisioning.AdminTokenFile = Path.Combine(gateway.Value.DataDirectory, "admin.token");
                }
            })
            .Validate(p => !p.Enabled || File.Exists(p.DynamicSecurityPasswordFile), "Provisioning:DynamicSecurityPasswordFile must name an existing file when provisioning is enabled")
            .Validate(p => !p.Enabled || File.Exists(p.DistrictsFile), "Provisioning:DistrictsFile must name seoul-municipalities.geojson when provisioning is enabled")
            .Validate(p => !p.Enabled || string.IsNullOrEmpty(p.NeighbourhoodsFile) || File.Exists(p.NeighbourhoodsFile),
                "Provisioning:NeighbourhoodsFile must name seoul-admin-dongs-2021.geojson, or be empty")
            .Validate(p => !p.Enabled || !string.IsNullOrWhiteSpace(p.DynamicSecurityUsername), "Provisioning:DynamicSecurityUsername must be set")
            .Validate(p => p.MaxUnclaimed > 0 && p.MaxHellosPerDevice > 0 && p.NewHelloInterval >= TimeSpan.Zero && p.HelloLifetime > TimeSpan.Zero && p.WalkTestWindow > TimeSpan.Zero && p.ControlTimeout > TimeSpan.Zero, "Provisioning limits and intervals must be positive")
            .ValidateOnStart();

        if (!configuration.GetSection(ProvisioningOptions.SectionName).GetValue<bool>(nameof(ProvisioningOptions.Enabled)))
        {
            return services;
        }

        services.AddSingleton<ProvisioningMetrics>();
        services.AddSingleton<HelloBoard>();
        services.AddSingleton<DynamicSecurity>();
        services.AddSingleton(sp =>
        {
            ProvisioningOptions options = sp.GetRequiredService<IOptions<ProvisioningOptions>>().Value;
            return new SiteRules(
                SeoulDistricts.Load(options.DistrictsFile),
                string.IsNullOrEmpty(options.NeighbourhoodsFile) ? null : SeoulNeighbourhoods.Load(options.NeighbourhoodsFile));
        });
        services.AddSingleton(sp => new AdminToken(sp.GetRequiredService<IOptions<ProvisioningOptions>>().Value.AdminTokenFile));
        services.AddSingleton<Commissioning>();
        services.AddHostedService<ProvisioningListener>();
        return services;
    }
}
