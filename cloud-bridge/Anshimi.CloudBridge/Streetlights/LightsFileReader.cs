using System.Globalization;
using CsvHelper;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>Which kind of lights file a header line names.</summary>
internal enum LightsFileFormat
{
    /// <summary>This system's own file of smart lights: <c>light_id,district_code,gateway_id,lat,lon</c>.</summary>
    SmartLights,

    /// <summary>Seoul's streetlight inventory (서울시 가로등 위치 정보): <c>light_id,lat,lon</c>, light_id the management number.</summary>
    CityStreetlights,

    /// <summary>A district's security lights (보안등정보, the national standard data set): name, count, addresses, lat, lon, …</summary>
    SecurityLights,
}

/// <summary>One light as a file lists it, with the line it stands on.</summary>
/// <param name="Name">The light id of a smart-lights file, the management number or name of a city file.</param>
/// <param name="Address">The road address, else the lot address, of a security light; empty otherwise.</param>
/// <param name="DistrictCode">Smart-lights files only.</param>
/// <param name="GatewayId">Smart-lights files only.</param>
internal sealed record LightsFileRow(int Line, string Name, double Latitude, double Longitude, string Address, string? DistrictCode, string? GatewayId);

/// <summary>
/// Reads any lights file (CSV, UTF-8, a header line naming its format) and checks every row: the right number of
/// fields, a name, decimal coordinates — inside Seoul for the city's own files, whose broken coordinates are the
/// usual fault. The first bad row stops the read with a <see cref="FormatException"/> naming its line.
/// Internal: the device simulator compiles this file too, and one public type in two assemblies would clash.
/// </summary>
internal static class LightsFileReader
{
    public const string SmartLightsHeader = "light_id,district_code,gateway_id,lat,lon";

    public const string CityStreetlightsHeader = "light_id,lat,lon";

    public const string SecurityLightsHeader = "name,count,road_address,lot_address,lat,lon,install_year,mount,data_date";

    /// <summary>Seoul with a margin: the city spans 37.42–37.71 N and 126.76–127.19 E.</summary>
    public const double SouthLatitude = 37.40;
    public const double NorthLatitude = 37.73;
    public const double WestLongitude = 126.70;
    public const double EastLongitude = 127.30;

    private const int MaxNameLength = 64;

    // Fixed separator, every line counted (LineNumber is the line a record starts on, the header being line 1).
    private static readonly CsvReaderOptions Options = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        DetectSeparatorHint = false,
        HasHeader = false,
        SkipEmptyLines = true,
        TrackLineNumbers = true,
        FormatProvider = CultureInfo.InvariantCulture,
    };

    public static (LightsFileFormat Format, IReadOnlyList<LightsFileRow> Rows) Read(string path)
    {
        CsvMalformedRecord? malformed = null;
        var rows = new List<LightsFileRow>();
        LightsFileFormat? format = null;
        int fields = 0;

        // The handler turns on malformed-quote detection; without it a stray quote is read as text.
        using (CsvReader csv = CsvReader.FromFile(path, Options with { OnMalformedRecord = m => malformed ??= m }))
        {
            while (malformed is null && csv.Read())
            {
                int line = (int)csv.LineNumber;
                string[] record = csv.Current.ToArray();
                if (format is null)
                {
                    string header = string.Join(',', record.Select(f => f.Trim())).TrimStart('\uFEFF');
                    format = FormatOf(header) ?? throw Bad(path, line,
                        $"the header must name one of the lights formats: '{SmartLightsHeader}' (smart lights), '{CityStreetlightsHeader}' (Seoul streetlights) or '{SecurityLightsHeader}' (security lights)");
                    fields = record.Length;
                    continue;
                }

                if (record.Length != fields)
                {
                    throw Bad(path, line, string.Create(CultureInfo.InvariantCulture, $"expected {fields} comma-separated fields, found {record.Length}"));
                }

                string? problem = TryParse(format.Value, line, record, out LightsFileRow? row);
                if (problem is not null)
                {
                    throw Bad(path, line, problem);
                }

                rows.Add(row!);
            }
        }

        if (malformed is { } bad)
        {
            throw Bad(path, (int)bad.LineNumber, "a quoted field is malformed (" + bad.Reason + ")");
        }

        return format is null
            ? throw new FormatException($"lights file {path} is empty (it needs at least a header such as '{SmartLightsHeader}')")
            : (format.Value, rows);
    }

    private static LightsFileFormat? FormatOf(string header) => header switch
    {
        SmartLightsHeader => LightsFileFormat.SmartLights,
        CityStreetlightsHeader => LightsFileFormat.CityStreetlights,
        SecurityLightsHeader => LightsFileFormat.SecurityLights,
        _ => null,
    };

    private static string? TryParse(LightsFileFormat format, int line, string[] f, out LightsFileRow? row)
    {
        row = null;
        (string name, string lat, string lon) = format switch
        {
            LightsFileFormat.SmartLights => (f[0], f[3], f[4]),
            LightsFileFormat.CityStreetlights => (f[0], f[1], f[2]),
            _ => (f[0], f[4], f[5]),
        };
        name = name.Trim();
        if (name.Length is 0 or > MaxNameLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(format == LightsFileFormat.SecurityLights ? "name" : "light_id")} must be 1–{MaxNameLength} characters");
        }

        if (!double.TryParse(lat, NumberStyles.Float, CultureInfo.InvariantCulture, out double latitude) || !double.IsFinite(latitude) ||
            !double.TryParse(lon, NumberStyles.Float, CultureInfo.InvariantCulture, out double longitude) || !double.IsFinite(longitude))
        {
            return "lat and lon must be decimal degrees, found '" + lat + "', '" + lon + "'";
        }

        if (format == LightsFileFormat.SmartLights)
        {
            if (Math.Abs(latitude) > 90 || Math.Abs(longitude) > 180)
            {
                return "lat and lon must be decimal degrees";
            }

            row = new LightsFileRow(line, name, latitude, longitude, "", f[1], f[2]);
            return null;
        }

        if (latitude is < SouthLatitude or > NorthLatitude || longitude is < WestLongitude or > EastLongitude)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"{latitude}, {longitude} is not in Seoul ({SouthLatitude}–{NorthLatitude} N, {WestLongitude}–{EastLongitude} E)");
        }

        string address = "";
        if (format == LightsFileFormat.SecurityLights)
        {
            if (!int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int lamps) || lamps < 1)
            {
                return "count must be a whole number of lamps, at least 1, found '" + f[1] + "'";
            }

            address = f[2].Trim().Length > 0 ? f[2].Trim() : f[3].Trim();
        }

        row = new LightsFileRow(line, name, latitude, longitude, address, null, null);
        return null;
    }

    private static FormatException Bad(string path, int line, string problem) =>
        new($"lights file {path}: line {line.ToString(CultureInfo.InvariantCulture)}: {problem}");
}
