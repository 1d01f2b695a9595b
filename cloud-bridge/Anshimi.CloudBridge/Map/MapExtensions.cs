namespace Anshimi.CloudBridge.Map;

public static class MapExtensions
{
    /// <summary>The map's escort and streetlight layers, beside the devices and open alarms the map shows itself.</summary>
    public static IServiceCollection AddMapLayers(this IServiceCollection services)
    {
        services.AddSingleton<IMapLayerSource, EscortMapLayer>();
        services.AddSingleton<IMapLayerSource, LightMapLayer>();
        return services;
    }
}
