using Anshimi.CloudBridge.Map;
using Anshimi.CloudBridge.Operators;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

public sealed record MapOutlineView(string ViewBox, MapProjection Projection, IReadOnlyList<DistrictOutline> Districts);

public sealed record MapLayerView(string Layer, IReadOnlyList<MapMarker> Markers);

/// <summary>District outlines for the offline SVG map, and the extra layers (escorts, lights) filtered by district.</summary>
public static class MapEndpoints
{
    public static void MapMapApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        RouteGroupBuilder map = api.MapGroup("/map").WithTags("Map");
        map.MapGet("/districts", (DistrictOutlines outlines) =>
            TypedResults.Ok(new MapOutlineView(outlines.ViewBox, outlines.Projection, outlines.Districts))).WithName("GetMapDistricts");
        map.MapGet("/layers", GetLayersAsync).WithName("GetMapLayers");
    }

    private static async Task<Ok<List<MapLayerView>>> GetLayersAsync(HttpContext http, IEnumerable<IMapLayerSource> sources, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(http.User);
        var layers = new List<MapLayerView>();
        foreach (IMapLayerSource source in sources)
        {
            IReadOnlyList<MapMarker> markers = await source.GetMarkersAsync(cancellationToken);
            layers.Add(new MapLayerView(source.Layer, markers.Where(m => scope.CanSee(m.DistrictCode)).ToList()));
        }

        return TypedResults.Ok(layers);
    }
}
