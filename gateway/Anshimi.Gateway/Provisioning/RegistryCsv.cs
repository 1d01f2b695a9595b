using System.Globalization;
using System.Text;
using Anshimi.Gateway.Storage;

namespace Anshimi.Gateway.Provisioning;

/// <summary>A CSV problem: the line number in the file (header = 1), the column and why.</summary>
public sealed record CsvProblem(int Row, string Column, string Code, string Message);

/// <summary>One data row of an imported CSV: its line number and the fields by column name.</summary>
public sealed record CsvRow(int Row, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// The registry as CSV (RFC 4180, UTF-8) for a district's asset list. Export has every column but
/// keys; import reads the site columns back, so an exported file can be edited and imported.
/// </summary>
public static class RegistryCsv
{
    public static readonly string[] Columns =
    [
        "device_id", "state", "profile", "firmware_version", "site_kind", "address", "latitude", "longitude",
        "district_code", "site_ref", "last_seen", "claimed_at", "replaced_by", "battery_percent", "health_flags",
    ];

    /// <summary>Columns an import must have.</summary>
    public static readonly string[] ImportColumns = ["device_id", "site_kind", "address", "latitude", "longitude", "site_ref"];

    public const int MaxRows = 20_000;

    public static string Export(IEnumerable<DeviceRow> rows)
    {
        var text = new StringBuilder();
        text.AppendJoin(',', Columns).Append("\r\n");
        foreach (DeviceRow row in rows)
        {
            string[] fields =
            [
                row.DeviceId, row.State, row.Profile, row.FirmwareVersion ?? "", row.Site.Kind, row.Site.Address,
                row.Site.Latitude.ToString("0.######", CultureInfo.InvariantCulture), row.Site.Longitude.ToString("0.######", CultureInfo.InvariantCulture),
                row.DistrictCode ?? "", row.SiteReference ?? "", Time(row.LastSeen), Time(row.ClaimedAt), row.ReplacedBy ?? "",
                row.BatteryPercent?.ToString(CultureInfo.InvariantCulture) ?? "", row.HealthFlags.ToString(CultureInfo.InvariantCulture),
            ];
            text.AppendJoin(',', fields.Select(Quote)).Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>Parses the file into rows by column name; structural problems (quotes, field counts, missing columns) go to <paramref name="problems"/>.</summary>
    public static IReadOnlyList<CsvRow> Parse(string text, List<CsvProblem> problems)
    {
        List<(int Line, List<string> Fields)> records = Split(text, problems);
        if (problems.Count > 0)
        {
            return [];
        }

        if (records.Count == 0)
        {
            problems.Add(new CsvProblem(1, "", "empty", "the file is empty; the first line must name the columns"));
            return [];
        }

        List<string> header = [.. records[0].Fields.Select(h => h.Trim().ToLowerInvariant())];
        foreach (string required in ImportColumns.Where(c => !header.Contains(c)))
        {
            problems.Add(new CsvProblem(1, required, "missing_column", "the header has no " + required + " column"));
        }

        foreach (string duplicate in header.GroupBy(h => h).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            problems.Add(new CsvProblem(1, duplicate, "duplicate_column", "the header names " + duplicate + " twice"));
        }

        if (records.Count - 1 > MaxRows)
        {
            problems.Add(new CsvProblem(MaxRows + 2, "", "too_many_rows", "at most " + MaxRows + " rows per import"));
        }

        if (problems.Count > 0)
        {
            return [];
        }

        var rows = new List<CsvRow>();
        foreach ((int line, List<string> fields) in records.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Length == 0)
            {
                continue;
            }

            if (fields.Count != header.Count)
            {
                problems.Add(new CsvProblem(line, "", "field_count", "has " + fields.Count + " fields, the header " + header.Count));
                continue;
            }

            var byName = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < header.Count; i++)
            {
                byName[header[i]] = fields[i];
            }

            rows.Add(new CsvRow(line, byName));
        }

        return rows;
    }

    private static string Time(DateTimeOffset? at) => at?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "";

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\r', '\n']) >= 0 || field.StartsWith(' ') || field.EndsWith(' ')
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;

    /// <summary>RFC 4180 records with the line each starts on; a quote left open is a problem of that line.</summary>
    private static List<(int Line, List<string> Fields)> Split(string text, List<CsvProblem> problems)
    {
        var records = new List<(int, List<string>)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1;
        int recordLine = 1;
        bool quoted = false;
        bool fieldStarted = false;
        int i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0 && !fieldStarted:
                    quoted = true;
                    fieldStarted = true;
                    break;
                case '"':
                    problems.Add(new CsvProblem(line, "", "bad_quote", "a quote inside an unquoted field"));
                    return records;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    records.Add((recordLine, fields));
                    fields = [];
                    field.Clear();
                    fieldStarted = false;
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    break;
            }
        }

        if (quoted)
        {
            problems.Add(new CsvProblem(recordLine, "", "bad_quote", "a quoted field is never closed"));
            return records;
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add((recordLine, fields));
        }

        return records;
    }
}
