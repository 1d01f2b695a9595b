using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Storage;

namespace Anshimi.CloudBridge.Firmware;

public static class FirmwareExtensions
{
    /// <summary>Registers release uploads, rollouts and their background checks, and the firmware envelope handlers.</summary>
    public static WebApplicationBuilder AddFirmwareRollouts(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddOptions<FirmwareOptions>()
            .Bind(builder.Configuration.GetSection(FirmwareOptions.SectionName))
            .Validate(o => o.KeysAreValid(), "Firmware:ReleaseKeys must each be 64 hex digits (an Ed25519 public key).")
            .Validate(o => o.StageTimeout > TimeSpan.Zero && o.OfferRetry > TimeSpan.Zero && o.OfferLifetime > TimeSpan.Zero && o.Interval > TimeSpan.Zero,
                "Firmware: StageTimeout, OfferRetry, OfferLifetime and Interval must be positive.")
            .Validate(o => o.SuccessThreshold is > 0 and <= 1 && o.FailureThreshold is >= 0 and < 1,
                "Firmware:SuccessThreshold must be in (0, 1] and Firmware:FailureThreshold in [0, 1).")
            .ValidateOnStart();
        services.AddSingleton(sp => new FirmwareStore(sp.GetRequiredService<StoreDatabases>().Get(StoreFile.Firmware)));
        services.AddSingleton<FirmwareReleases>();
        services.AddSingleton<FirmwareRollouts>();
        services.AddSingleton<RolloutService>();
        services.AddHostedService(sp => sp.GetRequiredService<RolloutService>());
        services.AddGatewayEnvelopeHandler<FirmwareStateHandler>()
            .AddGatewayEnvelopeHandler<FirmwareFetchHandler>();
        return builder;
    }
}
