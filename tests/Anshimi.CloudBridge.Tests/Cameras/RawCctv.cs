using System.Globalization;
using Anshimi.Testing;
using Microsoft.VisualBasic.FileIO;

namespace Anshimi.CloudBridge.Tests.Cameras;

/// <summary>
/// The shipped Anshimi CCTV file read here with its own CSV parser and haversine, independent of the bridge, to compute
/// by brute force which camera points an answer must list.
/// </summary>
internal static class RawCctv
{
    public static string File => Path.Combine(RepoPaths.SharedData, "seoul-anshimi-cctv.csv");

    public static string DongsFile => Path.Combine(RepoPaths.SharedData, "seoul-admin-dongs-2021.geojson");

    private static readonly Lazy<List<Point>> All = new(Read);

    /// <summary>Within <paramref name="radius"/> metres, of the districts (Korean names) admitted, nearest first, at most <paramref name="max"/>.</summary>
    public static List<(Point Point, double Metres)> Nearest(double lat, double lon, double radius, int max, Func<string, bool>? district = null) =>
        All.Value
            .Where(p => district is null || district(p.District))
            .Select(p => (Point: p, Metres: Haversine(lat, lon, p.Lat, p.Lon)))
            .Where(p => p.Metres <= radius)
            .OrderBy(p => p.Metres).ThenBy(p => p.Point.Line)
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

    private static List<Point> Read()
    {
        var points = new List<Point>();
        using var parser = new TextFieldParser(File);
        parser.SetDelimiters(",");
        parser.HasFieldsEnclosedInQuotes = true;
        parser.ReadFields();
        while (!parser.EndOfData)
        {
            long line = parser.LineNumber;
            string[] f = parser.ReadFields()!;
            points.Add(new Point((int)line, f[0], f[1], double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture)));
        }

        return points;
    }

    public sealed record Point(int Line, string District, string Label, double Lat, double Lon, int Cameras);
}
