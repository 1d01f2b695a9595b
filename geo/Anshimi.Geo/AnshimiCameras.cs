using System.Globalization;
using CsvHelper;
using NetTopologySuite.Geometries;
using NetTopologySuite.Index.Strtree;

namespace Anshimi.Geo;

/// <summary>
/// The CCTV points linked to the Anshimi service (Seoul Open Data Plaza OA-20923, columns
/// <c>district,address,lat,lon,cameras</c>) in an STR-tree, answering "the cameras within R metres of a place,
/// nearest first". Every row is checked at load; the first bad one refuses the whole file.
/// </summary>
public sealed class AnshimiCameras
{
    public static readonly string[] Columns = ["district", "address", "lat", "lon", "cameras"];

    /// <summary>A point may hold several cameras, but not a whole control room's worth.</summary>
    public const int MaxCamerasPerPoint = 1000;

    // The separator is fixed and LineNumber is the line a record starts on, lines inside quoted fields included.
    private static readonly CsvReaderOptions ReaderOptions = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        DetectSeparatorHint = false,
        HasHeader = false,
        SkipEmptyLines = false,
        TrackLineNumbers = true,
        FormatProvider = CultureInfo.InvariantCulture,
    };

    private readonly STRtree<AnshimiCamera> _index = new();

    private AnshimiCameras(IReadOnlyList<AnshimiCamera> all)
    {
        All = all;
        foreach (AnshimiCamera camera in all)
        {
            _index.Insert(new Envelope(camera.Longitude, camera.Longitude, camera.Latitude, camera.Latitude), camera);
        }

        _index.Build();
    }

    public IReadOnlyList<AnshimiCamera> All { get; }

    /// <summary>
    /// Reads and checks the file: every district must be one of <paramref name="districts"/> (by its Korean name) and
    /// every point must lie within a kilometre of their bounds. Throws <see cref="FormatException"/> naming the line.
    /// </summary>
    public static AnshimiCameras Load(string csvPath, SeoulDistricts districts)
    {
        ArgumentNullException.ThrowIfNull(districts);
        Envelope bounds = districts.Bounds.Copy();
        bounds.ExpandBy(0.01);
        var cameras = new List<AnshimiCamera>();
        CsvMalformedRecord? malformed = null;

        // The handler turns on malformed-quote detection; without it a misplaced quote is read as text.
        using (CsvReader csv = CsvReader.FromFile(csvPath, ReaderOptions with { OnMalformedRecord = m => malformed ??= m }))
        {
            bool header = true;
            while (csv.Read() && malformed is null)
            {
                int line = (int)csv.LineNumber;
                string[] fields = csv.Current.ToArray();
                if (header)
                {
                    CheckHeader(fields, csvPath);
                    header = false;
                    continue;
                }

                if (fields.Length == 1 && fields[0].Length == 0)
                {
                    continue;
                }

                cameras.Add(ReadRow(fields, line, csvPath, districts, bounds));
            }

            if (header && malformed is null)
            {
                throw new FormatException("camera file " + csvPath + " is empty; line 1 must name the columns " + string.Join(",", Columns));
            }
        }

        if (malformed is { } bad)
        {
            throw new FormatException("camera file " + csvPath + " line " + bad.LineNumber + ": " + bad.Reason switch
            {
                CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
                CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a quoted field",
                _ => "a quote inside an unquoted field",
            });
        }

        if (cameras.Count == 0)
        {
            throw new FormatException("camera file " + csvPath + " lists no cameras");
        }

        return new AnshimiCameras(cameras);
    }

    /// <summary>
    /// The camera points within <paramref name="radiusMetres"/> of the place that <paramref name="include"/> admits,
    /// nearest first (ties in file order), at most <paramref name="max"/>.
    /// </summary>
    public IReadOnlyList<CameraDistance> Nearby(double latitude, double longitude, double radiusMetres, int max, Func<AnshimiCamera, bool>? include = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (!double.IsFinite(latitude) || !double.IsFinite(longitude) || !(radiusMetres >= 0) || max == 0)
        {
            return [];
        }

        var found = new List<CameraDistance>();
        foreach (AnshimiCamera camera in _index.Query(SearchBox(latitude, longitude, radiusMetres)))
        {
            double metres = GreatCircle.Metres(latitude, longitude, camera.Latitude, camera.Longitude);
            if (metres <= radiusMetres && (include is null || include(camera)))
            {
                found.Add(new CameraDistance(camera, metres));
            }
        }

        found.Sort(static (a, b) => a.Metres != b.Metres ? a.Metres.CompareTo(b.Metres) : a.Camera.Line.CompareTo(b.Camera.Line));
        return found.Count > max ? found.GetRange(0, max) : found;
    }

    /// <summary>How many points the index returns for the box around the circle: the bare index query, without distances.</summary>
    public int CountCandidates(double latitude, double longitude, double radiusMetres) =>
        _index.Query(SearchBox(latitude, longitude, radiusMetres)).Count;

    private static Envelope SearchBox(double latitude, double longitude, double radiusMetres)
    {
        // Degrees per metre along the meridian and along the parallel, with a small margin for the sphere's curvature.
        double dLat = double.RadiansToDegrees(radiusMetres / GreatCircle.EarthRadiusMetres) * 1.01;
        double dLon = dLat / Math.Max(Math.Cos(double.DegreesToRadians(latitude)), 0.01);
        return new Envelope(longitude - dLon, longitude + dLon, latitude - dLat, latitude + dLat);
    }

    private static void CheckHeader(string[] fields, string path)
    {
        string[] names = fields.Select(f => f.Trim().TrimStart('\uFEFF')).ToArray();
        if (!names.SequenceEqual(Columns, StringComparer.Ordinal))
        {
            throw new FormatException(
                "camera file " + path + " line 1: the columns must be " + string.Join(",", Columns) + ", not " + string.Join(",", names));
        }
    }

    private static AnshimiCamera ReadRow(string[] fields, int line, string path, SeoulDistricts districts, Envelope bounds)
    {
        string where = "camera file " + path + " line " + line.ToString(CultureInfo.InvariantCulture) + ": ";
        if (fields.Length != Columns.Length)
        {
            throw new FormatException(where + "has " + fields.Length + " fields, not " + Columns.Length);
        }

        string districtName = fields[0].Trim();
        District district = districts.ByNameKo(districtName)
            ?? throw new FormatException(where + "district \"" + districtName + "\" is not one of Seoul's districts");
        string label = fields[1].Trim();
        if (label.Length == 0)
        {
            throw new FormatException(where + "address is empty");
        }

        double lat = Number(fields[2], "lat", where);
        double lon = Number(fields[3], "lon", where);
        if (!bounds.Contains(lon, lat))
        {
            throw new FormatException(where + "lat " + fields[2] + ", lon " + fields[3] + " is not in Seoul");
        }

        if (!int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count is < 1 or > MaxCamerasPerPoint)
        {
            throw new FormatException(where + "cameras \"" + fields[4] + "\" is not a whole number from 1 to " + MaxCamerasPerPoint);
        }

        return new AnshimiCamera(line, district.Code, district.NameKo, label, lat, lon, count);
    }

    private static double Number(string text, string column, string where)
    {
        if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) ||
            !double.IsFinite(value))
        {
            throw new FormatException(where + column + " \"" + text + "\" is not a decimal number");
        }

        return value;
    }
}
