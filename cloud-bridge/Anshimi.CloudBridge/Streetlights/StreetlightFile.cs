using System.Globalization;
using System.Text;
using Anshimi.CloudBridge.Districts;
using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>
/// The city's smart lights. This system's own file (CSV, UTF-8): header <c>light_id,district_code,gateway_id,lat,lon</c>,
/// then one light per line, e.g. <c>5A000000,11110,gw-11110-01,37.5812345,126.9812345</c>. The city's published
/// inventories (<see cref="LightsFileFormat"/>) are read as they are and imported.
/// </summary>
public static class StreetlightFile
{
    public const string Header = LightsFileReader.SmartLightsHeader;

    public const int MaxGatewayIdLength = 64;

    /// <summary>Side of the square of imported lights one gateway serves, as a cluster of the synthetic city.</summary>
    public const double GatewayCellMetres = 500;

    private const double GatewayGridOffsetMetres = 40_000;

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

    /// <summary>Reads one lights file of any format (<see cref="LightsFileReader"/>); see <see cref="Read(IReadOnlyList{string}, DistrictDirectory)"/>.</summary>
    public static IReadOnlyList<Streetlight> Read(string path, DistrictDirectory districts) => Read([path], districts);

    /// <summary>
    /// Reads the files in order into one city. A smart-lights file gives each light as it is; a city file (Seoul's
    /// streetlights, a district's security lights) is imported: each row becomes a light whose id is the next free
    /// one from <see cref="Streetlight.FirstId"/> in reading order, whose district is where it stands, and whose
    /// gateway is the one of its <see cref="GatewayCellMetres"/> square in that district (<see cref="GatewayOf"/>).
    /// Throws <see cref="FormatException"/> naming the file and line of the first bad row.
    /// </summary>
    public static IReadOnlyList<Streetlight> Read(IReadOnlyList<string> paths, DistrictDirectory districts)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(districts);
        var lights = new List<Streetlight>();
        var ids = new HashSet<uint>();
        uint next = Streetlight.FirstId;
        foreach (string path in paths)
        {
            (LightsFileFormat format, IReadOnlyList<LightsFileRow> rows) = LightsFileReader.Read(path);
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (LightsFileRow row in rows)
            {
                string? problem = null;
                Streetlight? light = null;
                if (format == LightsFileFormat.SmartLights)
                {
                    problem = TryParse(row, out light);
                }
                else if (format == LightsFileFormat.CityStreetlights && !names.TryAdd(row.Name, row.Line))
                {
                    // Management numbers are unique in the city's register; the same one twice is a broken export.
                    problem = "light_id " + row.Name + " appears twice (also line " + names[row.Name].ToString(CultureInfo.InvariantCulture) + ")";
                }
                else
                {
                    while (ids.Contains(next))
                    {
                        next++;
                    }

                    if (next > Streetlight.LastId)
                    {
                        problem = "more lights than the streetlight id range holds";
                    }
                    else
                    {
                        string district = districts.Resolve(row.Latitude, row.Longitude);
                        light = new Streetlight(next, district, GatewayOf(district, row.Latitude, row.Longitude), row.Latitude, row.Longitude);
                    }
                }

                if (problem is null && !ids.Add(light!.Id))
                {
                    problem = "light id " + light.IdText + " appears twice";
                }

                if (problem is not null)
                {
                    throw new FormatException($"lights file {path}: line {row.Line.ToString(CultureInfo.InvariantCulture)}: {problem}");
                }

                lights.Add(light!);
            }
        }

        return lights;
    }

    /// <summary>
    /// The gateway an imported light answers to: one per <see cref="GatewayCellMetres"/> square (in
    /// <see cref="LocalProjection"/> metres) and district, <c>gw-{district}-{column}-{row}</c>, the squares counted from
    /// 40 km west and south of City Hall so that every one in Seoul has a positive three-digit number.
    /// </summary>
    public static string GatewayOf(string districtCode, double latitude, double longitude)
    {
        (double x, double y) = LocalProjection.ToMetres(latitude, longitude);
        int column = (int)Math.Floor((x + GatewayGridOffsetMetres) / GatewayCellMetres);
        int row = (int)Math.Floor((y + GatewayGridOffsetMetres) / GatewayCellMetres);
        return string.Create(CultureInfo.InvariantCulture, $"gw-{districtCode}-{column:D3}-{row:D3}");
    }

    private static string? TryParse(LightsFileRow row, out Streetlight? light)
    {
        light = null;
        if (!DeviceIdText.TryParse(row.Name, out uint id) || row.Name.Length != 8 || id < Streetlight.FirstId || id > Streetlight.LastId)
        {
            return "light_id must be 8 hex digits from 5A000000 to 5AFFFFFF";
        }

        if (row.DistrictCode is not { Length: > 0 and <= 16 } district || !district.All(char.IsAsciiLetterOrDigit))
        {
            return "district_code must be 1–16 letters or digits";
        }

        if (row.GatewayId is not { } gateway || !IsGatewayId(gateway))
        {
            return $"gateway_id must be 1–{MaxGatewayIdLength} letters, digits, '-', '_' or '.'";
        }

        light = new Streetlight(id, district, gateway, row.Latitude, row.Longitude);
        return null;
    }

    /// <summary>A gateway id is a single MQTT topic level: no wildcards, no separators.</summary>
    public static bool IsGatewayId(string text) =>
        text.Length is > 0 and <= MaxGatewayIdLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
