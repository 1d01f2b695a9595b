using System.Globalization;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.CloudBridge.Tests.Escorts;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Streetlights;

/// <summary>
/// The city's real lights files (../shared/data) through the streetlight directory: every row imported where the file
/// puts it (the raw file read here line by line, on its own), a damaged file refused by the bridge at start with the
/// row named, and a walk through 광진구's alleys lighting the security lights ahead.
/// </summary>
[Trait("Category", "SeoulData")]
public sealed class SeoulLightsTests
{
    private const int CityStreetlights = 19_291;
    private const int GwangjinSecurityLights = 9_205;
    private const string Gwangjin = "11215";

    // The planner's defaults (EscortOptions): lights within 30 m, and within 15 m of the next 60 m of the route.
    private const double NearMetres = 30;
    private const double CorridorMetres = 15;
    private const double AheadMetres = 60;

    private static readonly string StreetlightsFile = Path.Combine(RepoPaths.SharedData, "seoul-streetlights.csv");
    private static readonly string SecurityLightsFile = Path.Combine(RepoPaths.SharedData, "gwangjin-security-lights.csv");
    private static readonly DistrictDirectory Districts = new(SeoulDistricts.Load(CloudBridgeHost.DistrictsFile));

    [Fact]
    public void Every_city_streetlight_is_imported_where_the_file_puts_it_with_its_gateway_square_in_its_district()
    {
        IReadOnlyList<Streetlight> lights = StreetlightFile.Read(StreetlightsFile, Districts);
        string[][] raw = RawRows(StreetlightsFile, "light_id,lat,lon");

        Assert.Equal(CityStreetlights, raw.Length);
        Assert.Equal(CityStreetlights, lights.Count);
        foreach (int row in new[] { 0, 1, 706, 9_999, CityStreetlights - 1 })
        {
            Assert.Equal(Streetlight.FirstId + (uint)row, lights[row].Id);
            Assert.Equal(Parse(raw[row][1]), lights[row].Latitude);
            Assert.Equal(Parse(raw[row][2]), lights[row].Longitude);
        }

        // 가락지하차도 (Garak underpass) is in 송파구; 광명고가차도 (row 706) stands on the city's edge outside the simplified boundaries.
        Assert.StartsWith("가락지하차도", raw[0][0], StringComparison.Ordinal);
        Assert.Equal("11710", lights[0].DistrictCode);
        Assert.StartsWith("광명고가차도", raw[706][0], StringComparison.Ordinal);
        Assert.Equal(DistrictDirectory.UnknownCode, lights[706].DistrictCode);
        Assert.InRange(lights.Count(l => l.DistrictCode == DistrictDirectory.UnknownCode), 1, CityStreetlights / 20);
        Assert.True(lights.Select(l => l.DistrictCode).Where(c => c != DistrictDirectory.UnknownCode).Distinct().Count() >= 20, "the city's streetlights spread over the city");
        AssertGatewaysServeOneSquareOfOneDistrict(lights);
    }

    [Fact]
    public void Every_Gwangjin_security_light_is_imported_where_the_file_puts_it_in_Gwangjin()
    {
        IReadOnlyList<Streetlight> lights = StreetlightFile.Read(SecurityLightsFile, Districts);
        string[][] raw = RawRows(SecurityLightsFile, "name,count,road_address,lot_address,lat,lon,install_year,mount,data_date");

        Assert.Equal(GwangjinSecurityLights, raw.Length);
        Assert.Equal(GwangjinSecurityLights, lights.Count);
        foreach (int row in new[] { 0, 1_549, 4_321, GwangjinSecurityLights - 1 })
        {
            Assert.Equal(Streetlight.FirstId + (uint)row, lights[row].Id);
            Assert.Equal(Parse(raw[row][4]), lights[row].Latitude);
            Assert.Equal(Parse(raw[row][5]), lights[row].Longitude);
        }

        // Every row's lot address is in 광진구; the simplified boundaries put a handful on the border with 중랑구.
        Assert.All(raw, r => Assert.StartsWith("서울특별시 광진구", r[3], StringComparison.Ordinal));
        Assert.True(lights.Count(l => l.DistrictCode == Gwangjin) >= GwangjinSecurityLights * 0.995, "security lights of 광진구 in 광진구");
        AssertGatewaysServeOneSquareOfOneDistrict(lights);
    }

    [Fact]
    public void The_real_city_is_both_files_together_numbered_on_from_one_to_the_next()
    {
        IReadOnlyList<Streetlight> city = StreetlightFile.Read([StreetlightsFile, SecurityLightsFile], Districts);

        Assert.Equal(CityStreetlights + GwangjinSecurityLights, city.Count);
        Assert.Equal(
            Enumerable.Range(0, city.Count).Select(i => Streetlight.FirstId + (uint)i),
            city.Select(l => l.Id));
        string[] firstSecurityLight = RawRows(SecurityLightsFile, null)[0];
        Assert.Equal(Parse(firstSecurityLight[4]), city[CityStreetlights].Latitude);
        Assert.Equal(Parse(firstSecurityLight[5]), city[CityStreetlights].Longitude);
    }

    [Fact]
    public void Generate_lights_writes_the_imported_city_as_a_smart_lights_file_that_reads_back_the_same()
    {
        string directory = Directory.CreateTempSubdirectory("import-lights-").FullName;
        string path = Path.Combine(directory, "lights.csv");
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exit = GenerateLightsCommand.Run(["generate-lights", "--out", path, "--import", SecurityLightsFile, "--districts", CloudBridgeHost.DistrictsFile], output, error);

        Assert.True(exit == 0, error.ToString());
        Assert.Equal(StreetlightFile.Header, File.ReadLines(path).First());
        Assert.Equal(StreetlightFile.Read(SecurityLightsFile, Districts), StreetlightFile.Read(path, Districts));
        Assert.Contains("9205 lights", output.ToString(), StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task The_bridge_starts_on_the_security_lights_file_and_serves_every_light()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>
        {
            ["Escorts:LightsFile"] = SecurityLightsFile,
        });

        StreetlightDirectory lights = host.Services.GetRequiredService<StreetlightDirectory>();
        Assert.Equal(GwangjinSecurityLights, lights.Count);
    }

    [Theory]
    [InlineData(4_322, "lat", "37.55x", "line 4322: lat and lon must be decimal degrees")]
    [InlineData(17, "fields", "", "line 17: expected 9 comma-separated fields, found 8")]
    [InlineData(9_206, "lat", "0", "line 9206: 0, ")]
    [InlineData(2_500, "count", "-1", "line 2500: count must be a whole number of lamps")]
    [InlineData(30, "name", " ", "line 30: name must be")]
    public async Task A_damaged_security_lights_file_stops_the_bridge_at_start_naming_the_line(int line, string damage, string value, string expected)
    {
        string directory = Directory.CreateTempSubdirectory("seoul-lights-").FullName;
        string path = Path.Combine(directory, "gwangjin-security-lights.csv");
        string[] lines = File.ReadAllLines(SecurityLightsFile);
        string[] fields = lines[line - 1].Split(',');
        lines[line - 1] = damage switch
        {
            "lat" => string.Join(',', fields.Select((f, i) => i == 4 ? value : f)),
            "count" => string.Join(',', fields.Select((f, i) => i == 1 ? value : f)),
            "name" => string.Join(',', fields.Select((f, i) => i == 0 ? value : f)),
            _ => string.Join(',', fields.Skip(1)),
        };
        File.WriteAllLines(path, lines);

        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>
        {
            ["Escorts:LightsFile"] = path,
        }));

        FormatException format = Assert.IsType<FormatException>(refused);
        Assert.Contains("lights file " + path + ": " + expected, format.Message, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void A_city_streetlight_file_listing_a_management_number_twice_is_refused_naming_both_lines()
    {
        string directory = Directory.CreateTempSubdirectory("seoul-lights-").FullName;
        string path = Path.Combine(directory, "seoul-streetlights.csv");
        string[] lines = File.ReadAllLines(StreetlightsFile);
        File.WriteAllLines(path, [.. lines.Take(101), lines[1]]);

        FormatException refused = Assert.Throws<FormatException>(() => StreetlightFile.Read(path, Districts));

        Assert.Contains("line 102: light_id " + lines[1].Split(',')[0] + " appears twice (also line 2)", refused.Message, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>
    /// A walk through 화양동 from the security light nearest the neighbourhood's centre by way of two more real lights: at
    /// every step, the lights commanded into escort (less those released) are the lights within 30 m of the walker and
    /// within 15 m of the next 60 m of the route — worked out here by brute force over the raw file with great-circle
    /// distances, leaving out only lights within half a metre of either edge.
    /// </summary>
    [Fact]
    public void A_walk_through_Hwayang_dong_lights_the_real_security_lights_near_and_ahead_and_lets_those_passed_go()
    {
        string[][] raw = RawRows(SecurityLightsFile, null);
        (double Lat, double Lon)[] poles = [.. raw.Select(r => (Parse(r[4]), Parse(r[5])))];
        (double Lat, double Lon)[] route =
        [
            poles[NearestPole(poles, (37.5445, 127.0700))],
            poles[NearestPole(poles, (37.5445, 127.0720))],
            poles[NearestPole(poles, (37.5460, 127.0720))],
        ];
        var directory = new StreetlightDirectory(StreetlightFile.Read(SecurityLightsFile, Districts));
        var publisher = new RecordingLightPublisher();
        var planner = new EscortPlanner(directory, publisher, Options.Create(new EscortOptions()), new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 21, 0, 0, TimeSpan.Zero)));
        const uint Walker = 0x00C0FFEE;
        planner.Begin(Walker, [.. route.Select(p => new GeoPoint(p.Lat, p.Lon))]);

        double length = Length(route);
        Assert.InRange(length, 250, 450);
        var lit = new HashSet<string>(StringComparer.Ordinal);
        var everLit = new HashSet<string>(StringComparer.Ordinal);
        int litAhead = 0;
        int[] nearby = [.. Enumerable.Range(0, poles.Length).Where(i => route.Any(p => Haversine(p, poles[i]) < 300))];
        for (double walked = 0; walked <= length; walked += 7)
        {
            (double Lat, double Lon) here = At(route, walked);
            publisher.Clear();
            planner.Update(Walker, here.Lat, here.Lon);
            foreach ((string gateway, LightCommandEnvelope command) in publisher.Commands)
            {
                foreach (string id in command.Lights)
                {
                    Assert.True(DeviceIdText.TryParse(id, out uint light) && directory.TryFind(light, out Streetlight? found) && found!.GatewayId == gateway, id + " commanded through its own gateway");
                    if (command.Mode == LightModeName.Escort)
                    {
                        lit.Add(id);
                        litAhead += everLit.Add(id) && Haversine(here, poles[(int)(light - Streetlight.FirstId)]) > NearMetres + 0.5 ? 1 : 0;
                    }
                    else if (command.Mode == LightModeName.Release)
                    {
                        lit.Remove(id);
                    }
                }
            }

            (double Lat, double Lon)[] ahead = [.. Enumerable.Range(0, (int)(AheadMetres * 4) + 1).Select(k => At(route, walked + (k * 0.25)))];
            foreach (int i in nearby)
            {
                double fromWalker = Haversine(here, poles[i]);
                double fromAhead = ahead.Min(p => Haversine(p, poles[i]));
                string id = DeviceIdText.Format(Streetlight.FirstId + (uint)i);
                bool surely = fromWalker <= NearMetres - 0.5 || fromAhead <= CorridorMetres - 0.5;
                bool surelyNot = fromWalker > NearMetres + 0.5 && fromAhead > CorridorMetres + 0.5;
                if (surely)
                {
                    Assert.True(lit.Contains(id), string.Create(CultureInfo.InvariantCulture, $"at {walked:F0} m: {raw[i][0]} ({id}) {fromWalker:F1} m away, {fromAhead:F1} m off the route ahead, is lit"));
                }
                else if (surelyNot)
                {
                    Assert.False(lit.Contains(id), string.Create(CultureInfo.InvariantCulture, $"at {walked:F0} m: {raw[i][0]} ({id}) {fromWalker:F1} m away, {fromAhead:F1} m off the route ahead, is not lit"));
                }
            }
        }

        // Home: what was still lit is let go.
        publisher.Clear();
        planner.End(Walker);
        Assert.NotEmpty(lit);
        Assert.Equal(lit.Order(StringComparer.Ordinal), publisher.LightsIn(LightModeName.Release));
        Assert.True(everLit.Count >= 20, "a walk of a few hundred metres through 화양동 passes dozens of security lights, lit " + everLit.Count);
        Assert.True(litAhead >= 5, "lights ahead are lit before the walker comes within 30 m of them: " + litAhead);
    }

    private static void AssertGatewaysServeOneSquareOfOneDistrict(IReadOnlyList<Streetlight> lights)
    {
        foreach (IGrouping<string, Streetlight> gateway in lights.GroupBy(l => l.GatewayId))
        {
            Assert.True(StreetlightFile.IsGatewayId(gateway.Key), gateway.Key);
            Assert.Single(gateway.Select(l => l.DistrictCode).Distinct());
            Assert.StartsWith("gw-" + gateway.First().DistrictCode + "-", gateway.Key, StringComparison.Ordinal);
            (double X, double Y)[] at = [.. gateway.Select(l => LocalProjection.ToMetres(l.Latitude, l.Longitude))];
            Assert.True(at.Max(p => p.X) - at.Min(p => p.X) < StreetlightFile.GatewayCellMetres, gateway.Key + " spans less than a square east to west");
            Assert.True(at.Max(p => p.Y) - at.Min(p => p.Y) < StreetlightFile.GatewayCellMetres, gateway.Key + " spans less than a square north to south");
        }
    }

    /// <summary>The data rows of a city file split at commas (the published files quote nothing), checked against the header.</summary>
    private static string[][] RawRows(string path, string? header)
    {
        string[] lines = File.ReadAllLines(path);
        if (header is not null)
        {
            Assert.Equal(header, lines[0]);
        }

        return [.. lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))];
    }

    private static double Parse(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static int NearestPole((double Lat, double Lon)[] poles, (double Lat, double Lon) point) =>
        Enumerable.Range(0, poles.Length).MinBy(i => Haversine(poles[i], point));

    private static double Length((double Lat, double Lon)[] route) => route.Zip(route.Skip(1), Haversine).Sum();

    /// <summary>The point <paramref name="metres"/> along the route, by great-circle legs; the end beyond it.</summary>
    private static (double Lat, double Lon) At((double Lat, double Lon)[] route, double metres)
    {
        for (int i = 0; i < route.Length - 1; i++)
        {
            double leg = Haversine(route[i], route[i + 1]);
            if (metres <= leg)
            {
                double t = metres / leg;
                return (route[i].Lat + ((route[i + 1].Lat - route[i].Lat) * t), route[i].Lon + ((route[i + 1].Lon - route[i].Lon) * t));
            }

            metres -= leg;
        }

        return route[^1];
    }

    private static double Haversine((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        const double R = 6_371_008.8;
        double dLat = (b.Lat - a.Lat) * Math.PI / 180;
        double dLon = (b.Lon - a.Lon) * Math.PI / 180;
        double h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(a.Lat * Math.PI / 180) * Math.Cos(b.Lat * Math.PI / 180) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * R * Math.Asin(Math.Sqrt(h));
    }
}
