using System.Text.Json;
using NetTopologySuite.Geometries;

namespace Anshimi.Geo;

/// <summary>
/// Seoul's district boundaries, read from the city's GeoJSON (properties SIG_CD, SIG_KOR_NM,
/// SIG_ENG_NM), for routing an alarm to the district control center that owns the location.
/// </summary>
public sealed class SeoulDistricts
{
    private static GeometryFactory Factory => GeoJsonShapes.Factory;

    private SeoulDistricts(IReadOnlyList<District> all)
    {
        All = all;
    }

    public IReadOnlyList<District> All { get; }

    /// <summary>Loads the GeoJSON FeatureCollection; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static SeoulDistricts Load(string geoJsonPath)
    {
        using var stream = File.OpenRead(geoJsonPath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException ex)
        {
            throw new FormatException("district file " + geoJsonPath + " is not JSON: " + ex.Message, ex);
        }

        using (document)
        {
            var districts = new List<District>();
            if (!document.RootElement.TryGetProperty("features", out JsonElement features) || features.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("district file " + geoJsonPath + " has no features array");
            }

            int index = 0;
            foreach (JsonElement feature in features.EnumerateArray())
            {
                districts.Add(ReadFeature(feature, geoJsonPath, index++));
            }

            if (districts.Count == 0)
            {
                throw new FormatException("district file " + geoJsonPath + " lists no districts");
            }

            return new SeoulDistricts(districts);
        }
    }

    /// <summary>The district containing the point, or null outside Seoul.</summary>
    public District? Locate(double latitude, double longitude)
    {
        if (!double.IsFinite(latitude) || !double.IsFinite(longitude))
        {
            return null;
        }

        var point = Factory.CreatePoint(new Coordinate(longitude, latitude));
        foreach (District district in All)
        {
            if (district.Prepared.Covers(point))
            {
                return district;
            }
        }

        return null;
    }

    /// <summary>The district by its Korean name as the city publishes it, e.g. "중랑구".</summary>
    public District? ByNameKo(string nameKo) => All.FirstOrDefault(d => d.NameKo == nameKo);

    /// <summary>The box around all districts (X longitude, Y latitude).</summary>
    public Envelope Bounds
    {
        get
        {
            var box = new Envelope();
            foreach (District district in All)
            {
                box.ExpandToInclude(district.Geometry.EnvelopeInternal);
            }

            return box;
        }
    }

    public District? ByCode(string code)
    {
        foreach (District district in All)
        {
            if (district.Code == code)
            {
                return district;
            }
        }

        return null;
    }

    /// <summary>A uniformly random point inside the district (rejection sampling in its bounding box).</summary>
    public static (double Lat, double Lon) RandomPointIn(District district, Random random)
    {
        ArgumentNullException.ThrowIfNull(district);
        ArgumentNullException.ThrowIfNull(random);
        Envelope box = district.Geometry.EnvelopeInternal;
        while (true)
        {
            double lon = box.MinX + (random.NextDouble() * box.Width);
            double lat = box.MinY + (random.NextDouble() * box.Height);
            if (district.Prepared.Covers(Factory.CreatePoint(new Coordinate(lon, lat))))
            {
                return (lat, lon);
            }
        }
    }

    private static District ReadFeature(JsonElement feature, string path, int index)
    {
        string where = "district file " + path + ": features[" + index + "]";
        if (!feature.TryGetProperty("properties", out JsonElement props) ||
            !props.TryGetProperty("SIG_CD", out JsonElement code) ||
            !props.TryGetProperty("SIG_KOR_NM", out JsonElement nameKo) ||
            !props.TryGetProperty("SIG_ENG_NM", out JsonElement nameEn))
        {
            throw new FormatException(where + " lacks SIG_CD, SIG_KOR_NM or SIG_ENG_NM");
        }

        if (!feature.TryGetProperty("geometry", out JsonElement geometry) ||
            !geometry.TryGetProperty("type", out JsonElement type) ||
            !geometry.TryGetProperty("coordinates", out JsonElement coordinates))
        {
            throw new FormatException(where + " has no geometry");
        }

        Geometry shape = GeoJsonShapes.Read(type.GetString(), coordinates, where);
        return new District(code.ToString(), nameKo.GetString() ?? "", nameEn.GetString() ?? "", shape);
    }
}
