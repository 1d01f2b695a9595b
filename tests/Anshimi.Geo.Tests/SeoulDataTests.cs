using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.VisualBasic.FileIO;

namespace Anshimi.Geo.Tests;

/// <summary>
/// The Anshimi CCTV index and the 행정동 lookup against the raw files, each answer checked by a brute-force scan
/// written here independently of the library (its own CSV parser, haversine and ray casting).
/// </summary>
[Trait("Category", "SeoulData")]
public sealed class SeoulDataTests
{
    private static readonly Lazy<AnshimiCameras> Cameras =
        new(() => AnshimiCameras.Load(SeoulDataFiles.Path("seoul-anshimi-cctv.csv"), SeoulDataFiles.Districts.Value));

    private static readonly Lazy<SeoulNeighbourhoods> Dongs =
        new(() => SeoulNeighbourhoods.Load(SeoulDataFiles.Path("seoul-admin-dongs-2021.geojson")));

    private static readonly Lazy<List<RawCamera>> RawCameras = new(ReadRawCameras);

    private static readonly Lazy<List<RawDong>> RawDongs = new(ReadRawDongs);

    [Fact]
    public void Loads_every_camera_point_and_every_neighbourhood_of_the_shipped_files()
    {
        Assert.Equal(83_734, Cameras.Value.All.Count);
        Assert.Equal(84_013, Cameras.Value.All.Sum(c => c.Cameras));
        Assert.Equal(25, Cameras.Value.All.Select(c => c.DistrictCode).Distinct().Count());
        Assert.Equal(425, Dongs.Value.All.Count);
    }

    [Fact]
    public void Konkuk_University_station_lies_in_Hwayang_dong_with_the_cameras_a_brute_force_scan_finds()
    {
        const double lat = 37.5404, lon = 127.0692;

        AdminDong? dong = Dongs.Value.Locate(lat, lon);
        Assert.NotNull(dong);
        Assert.Equal("1121571000", dong.Code);
        Assert.Equal("화양동", dong.NameKo);
        Assert.Equal("11215", dong.DistrictCode);
        Assert.Equal("1121571000", BruteForceDong(lat, lon));

        IReadOnlyList<CameraDistance> nearest = Cameras.Value.Nearby(lat, lon, 150, 10);
        List<(RawCamera Camera, double Metres)> expected = BruteForceNearest(lat, lon, 150, 10);
        Assert.Equal(10, expected.Count);
        AssertSame(expected, nearest);
        Assert.All(nearest, n => Assert.Equal("광진구", n.Camera.DistrictNameKo));
    }

    [Fact]
    public void Nearest_cameras_match_a_brute_force_scan_at_random_places_across_Seoul()
    {
        var random = new Random(16);
        int withCameras = 0;
        for (int i = 0; i < 150; i++)
        {
            // Around a real camera point, so most circles hold some cameras and some hold more than ten.
            RawCamera near = RawCameras.Value[random.Next(RawCameras.Value.Count)];
            double lat = near.Lat + ((random.NextDouble() - 0.5) * 0.004);
            double lon = near.Lon + ((random.NextDouble() - 0.5) * 0.004);
            double radius = 50 + (random.NextDouble() * 250);
            List<(RawCamera, double)> expected = BruteForceNearest(lat, lon, radius, 10);
            AssertSame(expected, Cameras.Value.Nearby(lat, lon, radius, 10));
            withCameras += expected.Count > 0 ? 1 : 0;
        }

        Assert.True(withCameras > 100, withCameras + " of 150 places had cameras nearby");
    }

    [Fact]
    public void Only_the_cameras_the_filter_admits_are_listed()
    {
        // On the 광진구/성동구 border: both districts' cameras are in reach.
        const double lat = 37.55495, lon = 127.0714;
        IReadOnlyList<CameraDistance> all = Cameras.Value.Nearby(lat, lon, 600, 500);
        Assert.True(all.Select(c => c.Camera.DistrictCode).Distinct().Count() >= 2, "the place must see two districts' cameras");

        IReadOnlyList<CameraDistance> gwangjin = Cameras.Value.Nearby(lat, lon, 600, 500, c => c.DistrictCode == "11215");
        Assert.NotEmpty(gwangjin);
        Assert.All(gwangjin, c => Assert.Equal("11215", c.Camera.DistrictCode));
        Assert.Equal(all.Where(c => c.Camera.DistrictCode == "11215").Select(c => c.Camera.Line), gwangjin.Select(c => c.Camera.Line));
    }

    [Fact]
    public void Neighbourhoods_match_brute_force_ray_casting_at_random_places_across_Seoul()
    {
        var random = new Random(425);
        int found = 0;
        for (int i = 0; i < 400; i++)
        {
            double lat = 37.43 + (random.NextDouble() * 0.27);
            double lon = 126.76 + (random.NextDouble() * 0.43);
            string? expected = BruteForceDong(lat, lon);
            Assert.Equal(expected, Dongs.Value.Locate(lat, lon)?.Code);
            found += expected is null ? 0 : 1;
        }

        Assert.True(found > 200, found + " of 400 random places fell in a neighbourhood");
    }

    [Theory]
    [InlineData(5, "중랑구,중화2동 1,north,127.0786,1", "line 5: lat \"north\" is not a decimal number")]
    [InlineData(12, "부산진구,부전동 1,37.5985,127.0786,1", "line 12: district \"부산진구\" is not one of Seoul's districts")]
    [InlineData(300, "중랑구,중화2동 1,35.1796,129.0756,1", "line 300: lat 35.1796, lon 129.0756 is not in Seoul")]
    [InlineData(41_000, "중랑구,중화2동 1,37.5985,127.0786,0", "line 41000: cameras \"0\" is not a whole number from 1 to 1000")]
    [InlineData(9, "중랑구,중화2동 1,37.5985", "line 9: has 3 fields, not 5")]
    [InlineData(7, "중랑구,,37.5985,127.0786,1", "line 7: address is empty")]
    [InlineData(83_735, "중랑구,\"중화2동 1,37.5985,127.0786,1", "line 83735: a quoted field is never closed")]
    [InlineData(1, "district,label,lat,lon,cameras", "line 1: the columns must be district,address,lat,lon,cameras")]
    public void A_malformed_camera_file_is_refused_naming_the_line(int line, string replacement, string message)
    {
        string path = SeoulDataFiles.EditedCopy("seoul-anshimi-cctv.csv", lines =>
        {
            lines[line - 1] = replacement;
            return lines;
        });
        try
        {
            FormatException error = Assert.Throws<FormatException>(() => AnshimiCameras.Load(path, SeoulDataFiles.Districts.Value));
            Assert.True(error.Message.Contains(path + " " + message, StringComparison.Ordinal), error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("adm_cd2", "features[3] has no adm_cd2 text")]
    [InlineData("code", "features[3] has adm_cd2 \"11110X5300\", not a 10-digit code")]
    [InlineData("sgg", "features[3] has sgg \"11680\", which is not the first five digits of adm_cd2")]
    [InlineData("geometry", "features[3] has unsupported geometry type Point")]
    [InlineData("position", "features[3] has a position that is not two numbers")]
    [InlineData("duplicate", "features[3] repeats adm_cd2 1111053000 of features[0]")]
    public void A_malformed_neighbourhood_file_is_refused_naming_the_feature(string fault, string message)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(SeoulDataFiles.Path("seoul-admin-dongs-2021.geojson")))!;
        JsonNode feature = root["features"]![3]!;
        switch (fault)
        {
            case "adm_cd2":
                feature["properties"]!.AsObject().Remove("adm_cd2");
                break;
            case "code":
                feature["properties"]!["adm_cd2"] = "11110X5300";
                break;
            case "sgg":
                feature["properties"]!["sgg"] = "11680";
                break;
            case "geometry":
                feature["geometry"] = JsonNode.Parse("""{"type":"Point","coordinates":[127.0,37.5]}""");
                break;
            case "position":
                feature["geometry"]!["coordinates"]![0]![0]![2] = JsonNode.Parse("""["127.0", 37.5]""");
                break;
            case "duplicate":
                feature["properties"]!["adm_cd2"] = root["features"]![0]!["properties"]!["adm_cd2"]!.GetValue<string>();
                feature["properties"]!["sgg"] = "11110";
                break;
        }

        string path = Path.Combine(Path.GetTempPath(), "anshimi-geo-" + Guid.NewGuid().ToString("N") + ".geojson");
        File.WriteAllText(path, root.ToJsonString());
        try
        {
            FormatException error = Assert.Throws<FormatException>(() => SeoulNeighbourhoods.Load(path));
            Assert.Contains("neighbourhood file " + path + ": " + message, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSame(List<(RawCamera Camera, double Metres)> expected, IReadOnlyList<CameraDistance> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Camera.Line, actual[i].Camera.Line);
            Assert.Equal(expected[i].Camera.Label, actual[i].Camera.Label);
            Assert.Equal(expected[i].Camera.Count, actual[i].Camera.Cameras);
            Assert.Equal(expected[i].Metres, actual[i].Metres, 6);
        }
    }

    private static List<(RawCamera Camera, double Metres)> BruteForceNearest(double lat, double lon, double radius, int max) =>
        RawCameras.Value
            .Select(c => (Camera: c, Metres: Haversine(lat, lon, c.Lat, c.Lon)))
            .Where(c => c.Metres <= radius)
            .OrderBy(c => c.Metres).ThenBy(c => c.Camera.Line)
            .Take(max)
            .ToList();

    private static double Haversine(double lat1, double lon1, double lat2, double lon2)
    {
        const double r = 6_371_008.8;
        double toRad = Math.PI / 180;
        double a = Math.Pow(Math.Sin((lat2 - lat1) * toRad / 2), 2) +
                   (Math.Cos(lat1 * toRad) * Math.Cos(lat2 * toRad) * Math.Pow(Math.Sin((lon2 - lon1) * toRad / 2), 2));
        return 2 * r * Math.Asin(Math.Sqrt(a));
    }

    private static string? BruteForceDong(double lat, double lon) =>
        RawDongs.Value.SingleOrDefault(d => d.Polygons.Any(rings => InsideRings(rings, lon, lat)))?.Code;

    // Even-odd rule over all rings of one polygon: inside the shell and outside every hole.
    private static bool InsideRings(List<(double X, double Y)[]> rings, double x, double y)
    {
        bool inside = false;
        foreach ((double X, double Y)[] ring in rings)
        {
            for (int i = 0, j = ring.Length - 1; i < ring.Length; j = i++)
            {
                if ((ring[i].Y > y) != (ring[j].Y > y) &&
                    x < ((ring[j].X - ring[i].X) * (y - ring[i].Y) / (ring[j].Y - ring[i].Y)) + ring[i].X)
                {
                    inside = !inside;
                }
            }
        }

        return inside;
    }

    private static List<RawCamera> ReadRawCameras()
    {
        var cameras = new List<RawCamera>();
        using var parser = new TextFieldParser(SeoulDataFiles.Path("seoul-anshimi-cctv.csv"));
        parser.SetDelimiters(",");
        parser.HasFieldsEnclosedInQuotes = true;
        parser.ReadFields();
        while (!parser.EndOfData)
        {
            long line = parser.LineNumber;
            string[] f = parser.ReadFields()!;
            cameras.Add(new RawCamera((int)line, f[1], double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture)));
        }

        return cameras;
    }

    private static List<RawDong> ReadRawDongs()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(SeoulDataFiles.Path("seoul-admin-dongs-2021.geojson")));
        return document.RootElement.GetProperty("features").EnumerateArray().Select(f => new RawDong(
            f.GetProperty("properties").GetProperty("adm_cd2").GetString()!,
            f.GetProperty("geometry").GetProperty("coordinates").EnumerateArray().Select(polygon =>
                polygon.EnumerateArray().Select(ring =>
                    ring.EnumerateArray().Select(p => (p[0].GetDouble(), p[1].GetDouble())).ToArray()).ToList()).ToList())).ToList();
    }

    private sealed record RawCamera(int Line, string Label, double Lat, double Lon, int Count);

    private sealed record RawDong(string Code, List<List<(double X, double Y)[]>> Polygons);
}
