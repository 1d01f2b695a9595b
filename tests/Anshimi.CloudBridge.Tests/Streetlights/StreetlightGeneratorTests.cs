using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Geo;

namespace Anshimi.CloudBridge.Tests.Streetlights;

public sealed class StreetlightGeneratorTests
{
    private static readonly SeoulDistricts Seoul = SeoulDistricts.Load(CloudBridgeHost.DistrictsFile);
    private static readonly DistrictDirectory Districts = new(Seoul);
    private static readonly StreetlightLayout Small = new() { Seed = 7, TotalLights = 2_500 };

    [Fact]
    public void The_same_seed_gives_the_same_city_and_another_seed_another()
    {
        IReadOnlyList<Streetlight> first = StreetlightGenerator.Generate(Seoul, Small);
        IReadOnlyList<Streetlight> again = StreetlightGenerator.Generate(Seoul, Small);
        IReadOnlyList<Streetlight> other = StreetlightGenerator.Generate(Seoul, Small with { Seed = 8 });

        Assert.Equal(first, again);
        Assert.NotEqual(first.Select(l => (l.Latitude, l.Longitude)), other.Select(l => (l.Latitude, l.Longitude)));
    }

    [Fact]
    public void Every_light_lies_in_its_district_with_a_streetlight_id_and_one_gateway_per_cluster_of_that_district()
    {
        IReadOnlyList<Streetlight> lights = StreetlightGenerator.Generate(Seoul, Small);

        Assert.Equal(Small.TotalLights, lights.Count);
        Assert.Equal(lights.Count, lights.Select(l => l.Id).Distinct().Count());
        Assert.All(lights, l =>
        {
            Assert.InRange(l.Id, Streetlight.FirstId, Streetlight.LastId);
            Assert.Equal(l.DistrictCode, Seoul.Locate(l.Latitude, l.Longitude)?.Code);
            Assert.StartsWith("gw-" + l.DistrictCode + "-", l.GatewayId, StringComparison.Ordinal);
        });
        Assert.Equal(Seoul.All.Count, lights.Select(l => l.DistrictCode).Distinct().Count());
    }

    [Fact]
    public void Neighbouring_poles_stand_at_alley_spacing()
    {
        IReadOnlyList<Streetlight> lights = StreetlightGenerator.Generate(Seoul, Small);
        var directory = new StreetlightDirectory(lights);

        // The nearest neighbour of a pole is along its alley, 25–40 m away, or at a crossing a little closer.
        var nearest = new List<double>();
        for (int i = 0; i < directory.Count; i += 10)
        {
            (double x, double y) = directory.PositionOf(i);
            IReadOnlyList<int> two = directory.Nearest(x, y, 2, 100);
            if (two.Count == 2)
            {
                (double nx, double ny) = directory.PositionOf(two[1]);
                nearest.Add(Planar.Distance(x, y, nx, ny));
            }
        }

        nearest.Sort();
        double median = nearest[nearest.Count / 2];
        Assert.InRange(median, 12, 40);
        Assert.True(nearest.Count(d => d > 40) < nearest.Count / 10, "few poles stand alone");
    }

    [Fact]
    public void The_lights_file_round_trips_and_a_bad_line_is_named()
    {
        IReadOnlyList<Streetlight> lights = StreetlightGenerator.Generate(Seoul, Small with { TotalLights = 100 });
        string path = Path.Combine(Directory.CreateTempSubdirectory("lights-").FullName, "lights.csv");
        StreetlightFile.Write(path, lights);

        Assert.Equal(lights, StreetlightFile.Read(path, Districts));

        File.AppendAllText(path, "5A0000ZZ,11140,gw-x,37.5,127.0\n");
        FormatException bad = Assert.Throws<FormatException>(() => StreetlightFile.Read(path, Districts));
        Assert.Contains("line 102", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_generate_lights_command_writes_the_file_the_bridge_reads_and_refuses_bad_arguments()
    {
        string directory = Directory.CreateTempSubdirectory("generate-lights-").FullName;
        string path = Path.Combine(directory, "city", "lights.csv");
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exit = GenerateLightsCommand.Run(
            ["generate-lights", "--out", path, "--seed", "3", "--count", "250", "--districts", CloudBridgeHost.DistrictsFile], output, error);

        Assert.Equal(0, exit);
        Assert.Equal(StreetlightGenerator.Generate(Seoul, new StreetlightLayout { Seed = 3, TotalLights = 250 }), StreetlightFile.Read(path, Districts));
        Assert.Contains("250 lights", output.ToString(), StringComparison.Ordinal);

        Assert.Equal(2, GenerateLightsCommand.Run(["generate-lights", "--count", "many", "--out", path], output, error));
        Assert.Equal(2, GenerateLightsCommand.Run(["generate-lights", "--seed", "1"], output, error));
        Assert.Contains("--out is required", error.ToString(), StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }
}
