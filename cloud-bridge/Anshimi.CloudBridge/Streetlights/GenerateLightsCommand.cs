using System.Globalization;
using Anshimi.CloudBridge.Districts;
using Anshimi.Geo;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>
/// <c>Anshimi.CloudBridge generate-lights --out lights.csv [--seed 1] [--count 20000] [--districts path]</c>:
/// writes a synthetic city of streetlights and exits, without starting the bridge. With <c>--import FILE</c>
/// (repeatable) it writes the lights of the city's own files instead, with the ids, districts and gateways the
/// import gives them (<see cref="StreetlightFile.Read(IReadOnlyList{string}, DistrictDirectory)"/>).
/// </summary>
public static class GenerateLightsCommand
{
    public const string Name = "generate-lights";

    public static bool Matches(string[] args) => args is [Name, ..];

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        string? outPath = null;
        string districts = "../shared/data/seoul-municipalities.geojson";
        var imports = new List<string>();
        var layout = new StreetlightLayout();
        for (int i = 1; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            bool ok = true;
            switch (args[i])
            {
                case "--out" when value is not null:
                    outPath = value;
                    break;
                case "--import" when value is not null:
                    imports.Add(value);
                    break;
                case "--districts" when value is not null:
                    districts = value;
                    break;
                case "--seed" when value is not null:
                    ok = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed);
                    layout = layout with { Seed = seed };
                    break;
                case "--count" when value is not null:
                    ok = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count <= 1_000_000;
                    layout = layout with { TotalLights = count };
                    break;
                default:
                    ok = false;
                    break;
            }

            if (!ok)
            {
                return Usage(error, "bad argument " + args[i] + (value is null ? "" : " " + value));
            }

            i++;
        }

        if (outPath is null)
        {
            return Usage(error, "--out is required");
        }

        try
        {
            SeoulDistricts seoul = SeoulDistricts.Load(DistrictDirectory.ResolvePath(districts));
            IReadOnlyList<Streetlight> lights = imports.Count > 0
                ? StreetlightFile.Read(imports, new DistrictDirectory(seoul))
                : StreetlightGenerator.Generate(seoul, layout);
            StreetlightFile.Write(outPath, lights);
            int gateways = lights.Select(l => l.GatewayId).Distinct().Count();
            string source = imports.Count > 0 ? "imported from " + string.Join(", ", imports) : "seed " + layout.Seed.ToString(CultureInfo.InvariantCulture);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{lights.Count} lights, {gateways} gateways, {lights.Select(l => l.DistrictCode).Distinct().Count()} districts, {source} → {Path.GetFullPath(outPath)}"));
            return 0;
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
        {
            error.WriteLine("generate-lights: " + ex.Message);
            return 1;
        }
    }

    private static int Usage(TextWriter error, string problem)
    {
        error.WriteLine("generate-lights: " + problem);
        error.WriteLine("usage: Anshimi.CloudBridge generate-lights --out FILE [--seed N] [--count N] [--import CITY-LIGHTS-CSV ...] [--districts GEOJSON]");
        return 2;
    }
}
