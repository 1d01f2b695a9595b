namespace Anshimi.CloudBridge.Ingress;

public static class IngressExtensions
{
    /// <summary>The gateway ingress (a hosted service) with its counters, drop log and replies.</summary>
    public static IServiceCollection AddGatewayIngress(this IServiceCollection services)
    {
        services.AddSingleton<RelayStatistics>();
        services.AddSingleton<MalformedEnvelopeLog>();
        services.AddSingleton<GatewayReplies>();
        services.AddSingleton<GatewayRefusals>();

        // A singleton first so the API and tests reach the instance the host runs.
        services.AddSingleton<GatewayIngress>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayIngress>());
        return services;
    }

    /// <summary>Registers the handler of one envelope kind.</summary>
    public static IServiceCollection AddGatewayEnvelopeHandler<THandler>(this IServiceCollection services)
        where THandler : class, IGatewayEnvelopeHandler =>
        services.AddSingleton<IGatewayEnvelopeHandler, THandler>();
}
