using System.Globalization;
using System.Text;
using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>
/// The lights file (CSV, UTF-8): header <c>light_id,district_code,gateway_id,lat,lon</c>, then one light per
/// line, e.g. <c>5A000000,11110,gw-11110-01,37.5812345,126.9812345</c>. Read by the cloud bridge and
/// usable by the gateway registry and the device simulator.
/// </summary>
public static class StreetlightFile
{
    public const string Header = "light_id,district_code,gateway_id,lat,lon";

    public const int MaxGatewayIdLength = 64;

    public static void Write(string path, IEnumerable<Streetlight> lights)
    {
        ArgumentNullException.ThrowIfNull(lights);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        // Written beside and renamed, so a reader never sees half a file.
        string temporary = path + ".tmp";
        using (var writer = new StreamWriter(temporary, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            writer.NewLine = "\n";
            writer.WriteLine(Header);
            foreach (Streetlight light in lights)
            {
                writer.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{light.IdText},{light.DistrictCode},{light.GatewayId},{light.Latitude:0.0######},{light.Longitude:0.0######}"));
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads the whole file; throws <see cref="FormatException"/> naming the first bad line.</summary>
    public static IReadOnlyList<Streetlight> Read(string path)
    {
        var lights = new List<Streetlight>();
        var ids = new HashSet<uint>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (lineNumber == 1)
            {
                if (line.Trim().TrimStart('\uFEFF') != Header)
                {
                    throw new FormatException($"lights file {path}: line 1 must be the header '{Header}'");
                }

                continue;
            }

            if (line.Length == 0)
            {
                continue;
            }

            string? problem = TryParse(line, out Streetlight? light);
            if (problem is null && !ids.Add(light!.Id))
            {
                problem = "light id " + light.IdText + " appears twice";
            }

            if (problem is not null)
            {
                throw new FormatException($"lights file {path}: line {lineNumber.ToString(CultureInfo.InvariantCulture)}: {problem}");
            }

            lights.Add(light!);
        }

        if (lineNumber == 0)
        {
            throw new FormatException($"lights file {path} is empty (it needs at least the header '{Header}')");
        }

        return lights;
    }

    private static string? TryParse(string line, out Streetlight? light)
    {
        light = null;
        string[] fields = line.Split(',');
        if (fields.Length != 5)
        {
            return "expected 5 comma-separated fields, found " + fields.Length.ToString(CultureInfo.InvariantCulture);
        }

        if (!DeviceIdText.TryParse(fields[0], out uint id) || fields[0].Length != 8 || id < Streetlight.FirstId || id > Streetlight.LastId)
        {
            return "light_id must be 8 hex digits from 5A000000 to 5AFFFFFF";
        }

        if (fields[1].Length is 0 or > 16 || !fields[1].All(char.IsAsciiLetterOrDigit))
        {
            return "district_code must be 1–16 letters or digits";
        }

        if (!IsGatewayId(fields[2]))
        {
            return $"gateway_id must be 1–{MaxGatewayIdLength} letters, digits, '-', '_' or '.'";
        }

        if (!double.TryParse(fields[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double lat) || !double.IsFinite(lat) || Math.Abs(lat) > 90 ||
            !double.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double lon) || !double.IsFinite(lon) || Math.Abs(lon) > 180)
        {
            return "lat and lon must be decimal degrees";
        }

        light = new Streetlight(id, fields[1], fields[2], lat, lon);
        return null;
    }

    /// <summary>A gateway id is a single MQTT topic level: no wildcards, no separators.</summary>
    public static bool IsGatewayId(string text) =>
        text.Length is > 0 and <= MaxGatewayIdLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
