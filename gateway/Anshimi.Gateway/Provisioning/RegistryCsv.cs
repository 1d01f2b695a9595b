using System.Globalization;
using Anshimi.Gateway.Storage;
using CsvHelper;

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

    private static readonly CsvWriterOptions WriterOptions = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        NewLine = "\r\n",
        FormatProvider = CultureInfo.InvariantCulture,

        // Spaces at either end are quoted so that a spreadsheet or reader that trims keeps them.
        Quoting = CsvQuoting.WhenNeededOrWhitespace,

        // A district's asset list is opened in a spreadsheet: formula-like text (= + - @, tab, CR first) gets a leading '
        // and shows as text; the import removes that ' again, so an exported file still imports back unchanged.
        Injection = CsvInjection.Escape,
    };

    // The separator is fixed (no detection, no "sep=" line), empty lines stay records as the row rules below expect,
    // and LineNumber is the line a record starts on, lines inside quoted fields included.
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

    public static string Export(IEnumerable<DeviceRow> rows)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (CsvWriter csv = CsvWriter.Create(text, WriterOptions, leaveOpen: true))
        {
            csv.WriteHeader(Columns);
            foreach (DeviceRow row in rows)
            {
                csv.WriteRecord(
                [
                    row.DeviceId, row.State, row.Profile, row.FirmwareVersion ?? "", row.Site.Kind, row.Site.Address,
                    row.Site.Latitude.ToString("0.######", CultureInfo.InvariantCulture), row.Site.Longitude.ToString("0.######", CultureInfo.InvariantCulture),
                    row.DistrictCode ?? "", row.SiteReference ?? "", Time(row.LastSeen), Time(row.ClaimedAt), row.ReplacedBy ?? "",
                    row.BatteryPercent?.ToString(CultureInfo.InvariantCulture) ?? "", row.HealthFlags.ToString(CultureInfo.InvariantCulture),
                ]);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Parses the file into rows by column name; structural problems (quotes, field counts, missing columns) go to
    /// <paramref name="problems"/>, and a file with any of them gives no rows.
    /// </summary>
    public static IReadOnlyList<CsvRow> Parse(string text, List<CsvProblem> problems)
    {
        List<(int Line, string[] Fields)> records = Split(text, problems);
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
        foreach ((int line, string[] fields) in records.Skip(1))
        {
            if (fields.Length == 1 && fields[0].Length == 0)
            {
                continue;
            }

            if (fields.Length != header.Count)
            {
                problems.Add(new CsvProblem(line, "", "field_count", "has " + fields.Length + " fields, the header " + header.Count));
                continue;
            }

            var byName = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < header.Count; i++)
            {
                byName[header[i]] = fields[i];
            }

            rows.Add(new CsvRow(line, byName));
        }

        return problems.Count > 0 ? [] : rows;
    }

    /// <summary>Undoes the export's formula escape: the ' it put before one of the characters a spreadsheet would run.</summary>
    private static string Unescape(string field) =>
        field.Length >= 2 && field[0] == WriterOptions.InjectionEscape && WriterOptions.InjectionCharacters.Contains(field[1]) ? field[1..] : field;

    private static string Time(DateTimeOffset? at) => at?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "";

    /// <summary>The records with the line each starts on; the first malformed quote stops reading and is a problem of its record's first line.</summary>
    private static List<(int Line, string[] Fields)> Split(string text, List<CsvProblem> problems)
    {
        CsvMalformedRecord? malformed = null;
        var records = new List<(int, string[])>();
        // The handler turns on malformed-quote detection; without it a misplaced quote is read as text.
        using (CsvReader csv = CsvReader.FromText(text, ReaderOptions with { OnMalformedRecord = m => malformed ??= m }))
        {
            while (csv.Read() && malformed is null)
            {
                records.Add(((int)csv.LineNumber, [.. csv.Current.ToArray().Select(Unescape)]));
            }
        }

        if (malformed is { } bad)
        {
            problems.Add(new CsvProblem((int)bad.LineNumber, "", "bad_quote", bad.Reason switch
            {
                CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
                CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a quoted field",
                _ => "a quote inside an unquoted field",
            }));
        }

        return records;
    }
}
