using System.Globalization;
using Anshimi.CloudBridge.Audit;
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

    /// <summary>
    /// The layers' markers the operator may see. <paramref name="bbox"/> (<c>west,south,east,north</c> in degrees)
    /// keeps those inside a zoomed view; <paramref name="idle"/>=false leaves out lights in their normal state,
    /// so the whole-city view of tens of thousands of lights fetches only those doing something.
    /// </summary>
    private static async Task<Results<Ok<List<MapLayerView>>, ProblemHttpResult>> GetLayersAsync(
        HttpContext http, IEnumerable<IMapLayerSource> sources, AuditLog audit, CancellationToken cancellationToken, string? bbox = null, bool idle = true)
    {
        (double West, double South, double East, double North)? box = null;
        if (bbox is not null)
        {
            box = ParseBox(bbox);
            if (box is null)
            {
                return TypedResults.Problem(
                    title: "Invalid bbox", detail: "bbox must be west,south,east,north in degrees, west < east and south < north.", statusCode: StatusCodes.Status400BadRequest);
            }
        }

        var scope = OperatorScope.Of(http.User);
        var layers = new List<MapLayerView>();
        foreach (IMapLayerSource source in sources)
        {
            IReadOnlyList<MapMarker> markers = await source.GetMarkersAsync(cancellationToken);
            layers.Add(new MapLayerView(source.Layer, markers.Where(m =>
                scope.CanSee(m.DistrictCode)
                && (idle || m.State != LightMapLayer.Idle)
                && (box is not { } b || (m.Lon >= b.West && m.Lon <= b.East && m.Lat >= b.South && m.Lat <= b.North))).ToList()));
        }

        // A walker's position is personal: the first time an operator's map shows an escort is audited, once per
        // operator and escort however often the map refreshes.
        foreach (MapMarker escort in layers.Where(l => l.Layer == EscortMapLayer.LayerName).SelectMany(l => l.Markers))
        {
            await audit.AppendOnceAsync(new AuditEntry(scope.UserName, AuditAction.EscortView, EscortTarget(escort.Id), escort.DistrictCode, AuditOutcome.Granted, "map"), cancellationToken);
        }

        return TypedResults.Ok(layers);
    }

    /// <summary>How an escort session is named in the audit log.</summary>
    public static string EscortTarget(string sessionId) => "escort:" + sessionId;

    private static (double West, double South, double East, double North)? ParseBox(string text)
    {
        string[] parts = text.Split(',');
        var values = new double[4];
        if (parts.Length != 4)
        {
            return null;
        }

        for (int i = 0; i < 4; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
            {
                return null;
            }
        }

        return values[0] < values[2] && values[1] < values[3] ? (values[0], values[1], values[2], values[3]) : null;
    }
}
