using System.Text.Json;
using NetTopologySuite.Geometries;

namespace Anshimi.Geo;

/// <summary>GeoJSON polygon geometry (RFC 7946, WGS84) into NetTopologySuite shapes, with errors naming the feature.</summary>
internal static class GeoJsonShapes
{
    public static readonly GeometryFactory Factory = new(new PrecisionModel(), 4326);

    /// <summary>A Polygon or MultiPolygon; <paramref name="where"/> names the feature in every error.</summary>
    public static Geometry Read(string? type, JsonElement coordinates, string where)
    {
        if (coordinates.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException(where + " has geometry coordinates that are not an array");
        }

        return type switch
        {
            "Polygon" => ReadPolygon(coordinates, where),
            "MultiPolygon" => Factory.CreateMultiPolygon(coordinates.EnumerateArray().Select(p => ReadPolygon(p, where)).ToArray()),
            var other => throw new FormatException(where + " has unsupported geometry type " + other),
        };
    }

    private static Polygon ReadPolygon(JsonElement rings, string where)
    {
        if (rings.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException(where + " has a polygon that is not an array of rings");
        }

        LinearRing[] all = rings.EnumerateArray().Select(ring => CreateRing(ReadRing(ring, where), where)).ToArray();
        if (all.Length == 0)
        {
            throw new FormatException(where + " has an empty polygon");
        }

        return Factory.CreatePolygon(all[0], all[1..]);
    }

    private static LinearRing CreateRing(Coordinate[] coordinates, string where)
    {
        try
        {
            return Factory.CreateLinearRing(coordinates);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException(where + " has a ring that is not closed: " + ex.Message, ex);
        }
    }

    private static Coordinate[] ReadRing(JsonElement ring, string where)
    {
        if (ring.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException(where + " has a ring that is not an array of positions");
        }

        var coordinates = new List<Coordinate>();
        foreach (JsonElement position in ring.EnumerateArray())
        {
            if (position.ValueKind != JsonValueKind.Array || position.GetArrayLength() < 2 ||
                position[0].ValueKind != JsonValueKind.Number || position[1].ValueKind != JsonValueKind.Number)
            {
                throw new FormatException(where + " has a position that is not two numbers");
            }

            double lon = position[0].GetDouble();
            double lat = position[1].GetDouble();
            if (!double.IsFinite(lon) || !double.IsFinite(lat) || Math.Abs(lon) > 180 || Math.Abs(lat) > 90)
            {
                throw new FormatException(where + " has a position outside longitude/latitude range: " + lon + ", " + lat);
            }

            coordinates.Add(new Coordinate(lon, lat));
        }

        if (coordinates.Count < 4)
        {
            throw new FormatException(where + " has a ring with fewer than four positions");
        }

        return coordinates.ToArray();
    }
}
