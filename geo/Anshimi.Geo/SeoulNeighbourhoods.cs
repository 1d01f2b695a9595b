using System.Text.Json;
using NetTopologySuite.Geometries;
using NetTopologySuite.Index.Strtree;

namespace Anshimi.Geo;

/// <summary>
/// Seoul's administrative neighbourhoods (행정동) from the SGIS boundary GeoJSON (properties adm_nm, adm_cd2, sgg,
/// sggnm), in an STR-tree so that finding the neighbourhood of a point tests only the few polygons whose box holds it.
/// </summary>
public sealed class SeoulNeighbourhoods
{
    private readonly STRtree<AdminDong> _index = new();
    private readonly Dictionary<string, AdminDong> _byCode;

    private SeoulNeighbourhoods(IReadOnlyList<AdminDong> all)
    {
        All = all;
        _byCode = all.ToDictionary(d => d.Code, StringComparer.Ordinal);
        foreach (AdminDong dong in all)
        {
            _index.Insert(dong.Geometry.EnvelopeInternal, dong);
        }

        _index.Build();
    }

    public IReadOnlyList<AdminDong> All { get; }

    /// <summary>
    /// Loads and checks every feature; a bad one is refused with <see cref="FormatException"/> naming the file, the
    /// feature's index and what is wrong.
    /// </summary>
    public static SeoulNeighbourhoods Load(string geoJsonPath)
    {
        using FileStream stream = File.OpenRead(geoJsonPath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException ex)
        {
            throw new FormatException("neighbourhood file " + geoJsonPath + " is not JSON: " + ex.Message, ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("features", out JsonElement features) || features.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("neighbourhood file " + geoJsonPath + " has no features array");
            }

            var dongs = new List<AdminDong>();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            int index = 0;
            foreach (JsonElement feature in features.EnumerateArray())
            {
                AdminDong dong = ReadFeature(feature, geoJsonPath, index);
                if (!seen.TryAdd(dong.Code, index))
                {
                    throw new FormatException(
                        "neighbourhood file " + geoJsonPath + ": features[" + index + "] repeats adm_cd2 " + dong.Code + " of features[" + seen[dong.Code] + "]");
                }

                dongs.Add(dong);
                index++;
            }

            if (dongs.Count == 0)
            {
                throw new FormatException("neighbourhood file " + geoJsonPath + " lists no neighbourhoods");
            }

            return new SeoulNeighbourhoods(dongs);
        }
    }

    /// <summary>The neighbourhood covering the point, or null outside every one.</summary>
    public AdminDong? Locate(double latitude, double longitude)
    {
        if (!double.IsFinite(latitude) || !double.IsFinite(longitude))
        {
            return null;
        }

        var coordinate = new Coordinate(longitude, latitude);
        Point point = GeoJsonShapes.Factory.CreatePoint(coordinate);
        foreach (AdminDong candidate in _index.Query(new Envelope(coordinate)))
        {
            if (candidate.Prepared.Covers(point))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The candidates whose bounding box holds the point: the bare index query, without the polygon test.</summary>
    public int CountCandidates(double latitude, double longitude) => _index.Query(new Envelope(new Coordinate(longitude, latitude))).Count;

    public AdminDong? ByCode(string code) => _byCode.GetValueOrDefault(code);

    private static AdminDong ReadFeature(JsonElement feature, string path, int index)
    {
        string where = "neighbourhood file " + path + ": features[" + index + "]";
        if (feature.ValueKind != JsonValueKind.Object || !feature.TryGetProperty("properties", out JsonElement props) || props.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException(where + " has no properties");
        }

        string fullName = Text(props, "adm_nm", where);
        string code = Text(props, "adm_cd2", where);
        string districtCode = Text(props, "sgg", where);
        string districtName = Text(props, "sggnm", where);
        if (code.Length != 10 || !code.All(char.IsAsciiDigit))
        {
            throw new FormatException(where + " has adm_cd2 \"" + code + "\", not a 10-digit code");
        }

        if (districtCode.Length != 5 || !code.StartsWith(districtCode, StringComparison.Ordinal))
        {
            throw new FormatException(where + " has sgg \"" + districtCode + "\", which is not the first five digits of adm_cd2 " + code);
        }

        if (!feature.TryGetProperty("geometry", out JsonElement geometry) || geometry.ValueKind != JsonValueKind.Object ||
            !geometry.TryGetProperty("type", out JsonElement type) ||
            !geometry.TryGetProperty("coordinates", out JsonElement coordinates))
        {
            throw new FormatException(where + " has no geometry");
        }

        Geometry shape = GeoJsonShapes.Read(type.ValueKind == JsonValueKind.String ? type.GetString() : null, coordinates, where);

        // adm_nm is "서울특별시 종로구 사직동": the neighbourhood's own name is the last word.
        string name = fullName[(fullName.LastIndexOf(' ') + 1)..];
        return new AdminDong(code, name, fullName, districtCode, districtName, shape);
    }

    private static string Text(JsonElement props, string name, string where)
    {
        if (!props.TryGetProperty(name, out JsonElement value) || value.ValueKind != JsonValueKind.String ||
            string.IsNullOrWhiteSpace(value.GetString()))
        {
            throw new FormatException(where + " has no " + name + " text");
        }

        return value.GetString()!.Trim();
    }
}
