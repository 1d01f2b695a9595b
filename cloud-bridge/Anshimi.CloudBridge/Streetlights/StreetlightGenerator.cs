using Anshimi.Geo;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>Shape of the synthetic city; the defaults follow the city's figures (20,000 lights targeted).</summary>
public sealed record StreetlightLayout
{
    public int Seed { get; init; } = 1;

    public int TotalLights { get; init; } = 20_000;

    /// <summary>Side of one cluster: a neighbourhood of alleys served by one gateway.</summary>
    public double ClusterSideMetres { get; init; } = 500;

    /// <summary>Distance between parallel alleys of a cluster's grid.</summary>
    public double AlleySpacingMetres { get; init; } = 80;

    /// <summary>Pole spacing along an alley is drawn uniformly from this range.</summary>
    public double MinPoleSpacingMetres { get; init; } = 25;

    public double MaxPoleSpacingMetres { get; init; } = 40;
}

/// <summary>
/// Places a synthetic city of streetlights inside Seoul's real districts, deterministically by seed:
/// each district gets an equal share, laid out in clusters (one gateway each) whose lights stand along a
/// rotated grid of alleys at 25–40 m spacing. Lights that would fall outside their district are not placed.
/// </summary>
public static class StreetlightGenerator
{
    private const int PlacementAttempts = 200;

    public static IReadOnlyList<Streetlight> Generate(SeoulDistricts districts, StreetlightLayout layout)
    {
        ArgumentNullException.ThrowIfNull(districts);
        ArgumentNullException.ThrowIfNull(layout);
        if (layout.TotalLights is < 0 or > (int)(Streetlight.LastId - Streetlight.FirstId + 1) ||
            layout.ClusterSideMetres <= 0 || layout.AlleySpacingMetres <= 0 ||
            layout.MinPoleSpacingMetres <= 0 || layout.MaxPoleSpacingMetres < layout.MinPoleSpacingMetres)
        {
            throw new ArgumentException("streetlight layout out of range", nameof(layout));
        }

        var random = new Random(layout.Seed);
        var lights = new List<Streetlight>(layout.TotalLights);
        List<District> ordered = districts.All.OrderBy(d => d.Code, StringComparer.Ordinal).ToList();
        for (int i = 0; i < ordered.Count; i++)
        {
            int quota = (layout.TotalLights / ordered.Count) + (i < layout.TotalLights % ordered.Count ? 1 : 0);
            PlaceDistrict(districts, ordered[i], quota, layout, random, lights);
        }

        return lights;
    }

    private static void PlaceDistrict(
        SeoulDistricts districts, District district, int quota, StreetlightLayout layout, Random random, List<Streetlight> lights)
    {
        var centres = new List<(double X, double Y)>();
        int placed = 0;

        // A district too small for its quota stops once clusters keep coming up empty.
        for (int cluster = 1, empty = 0; placed < quota && empty < PlacementAttempts; cluster++)
        {
            (double X, double Y) centre = PickCentre(district, layout, random, centres);
            centres.Add(centre);
            string gatewayId = "gw-" + district.Code + "-" + cluster.ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
            int before = placed;
            foreach ((double x, double y) in ClusterPoles(centre, layout, random))
            {
                if (placed == quota)
                {
                    break;
                }

                (double lat, double lon) = LocalProjection.ToDegrees(x, y);
                lat = Math.Round(lat, 7);
                lon = Math.Round(lon, 7);
                if (districts.Locate(lat, lon) != district)
                {
                    continue;
                }

                lights.Add(new Streetlight(Streetlight.FirstId + (uint)lights.Count, district.Code, gatewayId, lat, lon));
                placed++;
            }

            empty = placed == before ? empty + 1 : 0;
        }
    }

    private static (double X, double Y) PickCentre(District district, StreetlightLayout layout, Random random, List<(double X, double Y)> taken)
    {
        // Keep clusters apart while the district has room; a crowded district accepts overlap.
        double minDistance = layout.ClusterSideMetres * 1.2;
        (double X, double Y) candidate = default;
        for (int attempt = 0; attempt < PlacementAttempts; attempt++)
        {
            (double lat, double lon) = SeoulDistricts.RandomPointIn(district, random);
            candidate = LocalProjection.ToMetres(lat, lon);
            (double X, double Y) c = candidate;
            if (taken.TrueForAll(t => Math.Abs(t.X - c.X) >= minDistance || Math.Abs(t.Y - c.Y) >= minDistance))
            {
                return candidate;
            }
        }

        return candidate;
    }

    /// <summary>Poles along the alleys of one cluster: rows and columns of a grid turned by a random angle.</summary>
    private static IEnumerable<(double X, double Y)> ClusterPoles((double X, double Y) centre, StreetlightLayout layout, Random random)
    {
        double angle = random.NextDouble() * Math.PI / 2;
        double cos = Math.Cos(angle);
        double sin = Math.Sin(angle);
        double half = layout.ClusterSideMetres / 2;
        int alleys = (int)(layout.ClusterSideMetres / layout.AlleySpacingMetres) + 1;
        var poles = new List<(double U, double V)>();
        for (int a = 0; a < alleys; a++)
        {
            double offset = a * layout.AlleySpacingMetres;
            for (double along = random.NextDouble() * layout.MinPoleSpacingMetres; along <= layout.ClusterSideMetres; along += PoleSpacing(layout, random))
            {
                poles.Add((along, offset));
            }

            for (double along = random.NextDouble() * layout.MinPoleSpacingMetres; along <= layout.ClusterSideMetres; along += PoleSpacing(layout, random))
            {
                // A crossing already has the row's pole nearby.
                double fromRow = along % layout.AlleySpacingMetres;
                if (Math.Min(fromRow, layout.AlleySpacingMetres - fromRow) >= layout.MinPoleSpacingMetres / 2)
                {
                    poles.Add((offset, along));
                }
            }
        }

        foreach ((double u, double v) in poles)
        {
            double du = u - half;
            double dv = v - half;
            yield return (centre.X + (du * cos) - (dv * sin), centre.Y + (du * sin) + (dv * cos));
        }
    }

    private static double PoleSpacing(StreetlightLayout layout, Random random) =>
        layout.MinPoleSpacingMetres + (random.NextDouble() * (layout.MaxPoleSpacingMetres - layout.MinPoleSpacingMetres));
}
