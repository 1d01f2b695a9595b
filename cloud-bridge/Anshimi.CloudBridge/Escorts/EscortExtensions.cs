using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Streetlights;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

public static class EscortExtensions
{
    /// <summary>
    /// Registers the streetlight directory, escort planner, sessions, emergency reports, the light-outcome handler and the
    /// delivery of the districts' escort keys to the gateways.
    /// </summary>
    public static WebApplicationBuilder AddEscorts(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<EscortOptions>()
            .Bind(builder.Configuration.GetSection(EscortOptions.SectionName))
            .Validate(o => EscortAdvertiser.IsValidSetting(o.EscortKey), "Escorts:EscortKey must be 64 hex digits (32 bytes) or empty.")
            .Validate(o => Anshimi.Protocol.Upstream.EscortKeySchedule.IsValid(o.KeyRotationPeriod, o.KeyChangeover),
                "Escorts:KeyRotationPeriod (≥ 2 min) and Escorts:KeyChangeover (≥ 1 min, below the period) must be whole minutes.")
            .Validate(o => o.KeyDeliveryCheck > TimeSpan.Zero && o.KeyResend > TimeSpan.Zero && o.KeyRefresh >= o.KeyResend,
                "Escorts:KeyDeliveryCheck and Escorts:KeyResend must be positive, Escorts:KeyRefresh at least Escorts:KeyResend.")
            .Validate(o => o.NearRadiusMetres > 0 && o.AheadMetres >= 0 && o.AheadCorridorMetres > 0 && o.OffRouteMetres > 0,
                "Escorts: distances must be positive.")
            .Validate(o => o.HoldSeconds is > 0 and <= ushort.MaxValue && o.RefreshMarginSeconds >= 0 && o.RefreshMarginSeconds < o.HoldSeconds,
                "Escorts:HoldSeconds must be 1–65535 and Escorts:RefreshMarginSeconds below it.")
            .Validate(o => o.CommandExpiry > TimeSpan.Zero && o.EmergencyCommandExpiry > TimeSpan.Zero && o.SessionTimeout > TimeSpan.Zero && o.SweepInterval > TimeSpan.Zero,
                "Escorts: expiries, SessionTimeout and SweepInterval must be positive.")
            .Validate(o => o.EmergencyLights > 0 && o.EmergencySearchRadiusMetres > 0 && o.MaxRoutePoints >= 2 && o.MaxLocationsPerUpdate > 0 && o.MaxRequestBytes >= 1024,
                "Escorts: EmergencyLights, EmergencySearchRadiusMetres, MaxRoutePoints (≥ 2), MaxLocationsPerUpdate and MaxRequestBytes (≥ 1024) must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => LoadLights(sp.GetRequiredService<IOptions<EscortOptions>>().Value.LightsFile, sp.GetRequiredService<DistrictDirectory>()));
        services.AddSingleton(sp => new EscortStore(sp.GetRequiredService<StoreDatabases>().Get(StoreFile.Escorts)));
        services.AddSingleton<MqttLightCommandPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttLightCommandPublisher>());
        services.AddSingleton<ILightCommandPublisher>(sp => sp.GetRequiredService<MqttLightCommandPublisher>());
        services.AddSingleton<EscortPlanner>();
        services.AddSingleton<EscortSessions>();
        services.AddSingleton<EmergencyReports>();
        services.AddSingleton<EscortAdvertiser>();
        services.AddSingleton(sp =>
        {
            var outcomes = new LightOutcomeLog();
            LightMetrics.Register(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<MqttLightCommandPublisher>(), outcomes);
            return outcomes;
        });
        services.AddSingleton(sp => new EscortKeyDeliveryStore(sp.GetRequiredService<StoreDatabases>().Get(StoreFile.Escorts)));
        services.AddSingleton<EscortKeyDistributor>();
        services.AddHostedService(sp => sp.GetRequiredService<EscortKeyDistributor>());
        services.AddGatewayEnvelopeHandler<EscortKeysReceiptHandler>();
        services.AddSingleton<EscortSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<EscortSweeper>());
        services.AddGatewayEnvelopeHandler<LightOutcomeHandler>();
        return builder;
    }

    /// <summary>The configured lights file, found like the district file; none configured means no smart lights.</summary>
    private static StreetlightDirectory LoadLights(string file, DistrictDirectory districts)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            return StreetlightDirectory.Empty;
        }

        try
        {
            return new StreetlightDirectory(StreetlightFile.Read(DistrictDirectory.ResolvePath(file), districts));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException("Streetlights file not found: Escorts:LightsFile = " + file + " (run generate-lights, see cloud-bridge/README.md).", file, ex);
        }
    }
}
