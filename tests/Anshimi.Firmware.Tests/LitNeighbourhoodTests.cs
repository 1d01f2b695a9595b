using System.Globalization;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// The demo's lit neighbourhood (scripts/demo.sh: <c>fleet --streetlights 300 --security-lights gwangjin-security-lights.csv
/// --gateway-id gw-demo</c>) and its walk, checked against the raw security-lights file read here on its own.
/// </summary>
[Trait("Category", "SeoulData")]
public sealed class LitNeighbourhoodTests
{
    private const string DemoGateway = "gw-demo";
    private const string Gwangjin = "11215";

    private static readonly string SecurityLightsFile = Path.Combine(RepoPaths.SharedData, "gwangjin-security-lights.csv");
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    [Fact]
    public void The_demo_streetlights_stand_at_the_few_hundred_real_security_lights_of_Gwangjin_nearest_Hwayang_dong_owned_by_the_demo_gateway()
    {
        FleetFile fleet = DemoFleet();
        DeviceRecord[] lights = [.. fleet.Devices.Where(d => d.Profile == StreetlightFleet.Profile)];

        // The poles of the raw file, one per position (two lamps on one pole are one smart light), by distance from the centre.
        (double Lat, double Lon, string Name)[] poles = [.. File.ReadAllLines(SecurityLightsFile).Skip(1)
            .Select(l => l.Split(','))
            .Select(f => (Lat: Parse(f[4]), Lon: Parse(f[5]), Name: f[0]))
            .DistinctBy(p => (p.Lat, p.Lon))];
        (double Lat, double Lon, string Name)[] nearest = [.. poles.OrderBy(p => Metres(p.Lat, p.Lon, LitNeighbourhood.DefaultCentre)).Take(LitNeighbourhood.DefaultCount)];

        Assert.Equal(LitNeighbourhood.DefaultCount, lights.Length);
        Assert.Equal(
            nearest.Select(p => (p.Lat, p.Lon)).Order(),
            lights.Select(l => (l.Site.Latitude, l.Site.Longitude)).Order());
        Assert.All(lights, l =>
        {
            Assert.Equal(Gwangjin, l.DistrictCode);
            Assert.Equal(Gwangjin, Districts.Value.Locate(l.Site.Latitude, l.Site.Longitude)?.Code);
            Assert.StartsWith("서울특별시 광진구 화양동", l.Site.Address, StringComparison.Ordinal);
            Assert.True(Anshimi.Protocol.DeviceIdText.IsStreetlight(l.NumericId), l.DeviceId);
        });
        Assert.Equal(DemoGateway, fleet.GatewayId);
        Assert.Equal(lights.Length, lights.Select(l => l.DeviceId).Distinct().Count());
        Assert.True(Metres(lights[^1].Site.Latitude, lights[^1].Site.Longitude, LitNeighbourhood.DefaultCentre) < 400, "a neighbourhood, not a district");

        // The same file gives the same lights in the same order: the walk's ends are the same every run.
        Assert.Equal(lights.Select(l => l.Site), DemoFleet().Devices.Where(d => d.Profile == StreetlightFleet.Profile).Select(d => d.Site));
    }

    [Fact]
    public void The_demo_walk_goes_pole_to_pole_from_the_first_light_to_the_last()
    {
        DeviceRecord[] lights = [.. DemoFleet().Devices.Where(d => d.Profile == StreetlightFleet.Profile)];
        (double Lat, double Lon)[] positions = [.. lights.Select(l => (l.Site.Latitude, l.Site.Longitude))];
        (double Lat, double Lon) from = positions[0];
        (double Lat, double Lon) to = positions[^1];

        IReadOnlyList<(double Lat, double Lon)> route = WalkRoute.AlongLights(positions, from, to);

        Assert.Equal(from, route[0]);
        Assert.Equal(to, route[^1]);
        Assert.True(route.Count >= 5, "several poles on the way: " + route.Count);
        Assert.All(route, p => Assert.Contains(p, positions));
        double straight = Metres(from.Lat, from.Lon, to);
        double walked = 0;
        for (int i = 1; i < route.Count; i++)
        {
            double step = Metres(route[i - 1].Lat, route[i - 1].Lon, route[i]);
            Assert.InRange(step, 0.01, WalkRoute.MaxStepMetres + 0.01);
            walked += step;
        }

        Assert.InRange(walked, straight, straight * 1.5);
        // The walker's own reckoning (equirectangular, fixed metres per degree) agrees with great circles to 1 %.
        Assert.InRange(WalkRoute.Length(route), walked * 0.99, walked * 1.01);
    }

    [Fact]
    public void A_light_out_of_reach_of_every_other_has_no_walk_to_it()
    {
        (double Lat, double Lon)[] poles = [(37.5445, 127.0700), (37.5447, 127.0700), (37.5500, 127.0700)];

        ArgumentException none = Assert.Throws<ArgumentException>(() => WalkRoute.AlongLights(poles, poles[0], poles[2]));
        Assert.Contains("no way", none.Message, StringComparison.Ordinal);
    }

    private static FleetFile DemoFleet() => FleetGenerator.Generate(
        25, DemoGateway, Districts.Value, seed: null, streetlights: LitNeighbourhood.DefaultCount, profiles: ["home", "shop", "voice", "battery", "doorbell"],
        lightSites: LitNeighbourhood.Pick(SecurityLightsFile, LitNeighbourhood.DefaultCentre, LitNeighbourhood.DefaultCount));

    private static double Parse(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Great-circle metres.</summary>
    private static double Metres(double lat, double lon, (double Lat, double Lon) b)
    {
        const double R = 6_371_008.8;
        double dLat = (b.Lat - lat) * Math.PI / 180;
        double dLon = (b.Lon - lon) * Math.PI / 180;
        double h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(lat * Math.PI / 180) * Math.Cos(b.Lat * Math.PI / 180) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * R * Math.Asin(Math.Sqrt(h));
    }
}
