using System.Globalization;
using System.Text.RegularExpressions;
using CsvHelper;

namespace Anshimi.Hardware.Tests;

/// <summary>One row of a bom.csv: one part number, fitted at every designator in <see cref="Refs"/>.</summary>
public sealed record BomRow(int Line, IReadOnlyList<string> Refs, string Part, string Manufacturer, string Mpn, int Quantity, string Note);

/// <summary>
/// A device's bill of materials: <c>ref,part,manufacturer,mpn,quantity,note</c>, RFC 4180 quoting.
/// <c>ref</c> holds one or more designators separated by spaces ("R1 R2"); quantity is at least their number
/// (more when one designator stands for several pieces, e.g. two cells in BT1).
/// </summary>
public sealed partial class Bom
{
    public const string Header = "ref,part,manufacturer,mpn,quantity,note";

    public const string HeaderRule = "bom-header";
    public const string FieldsRule = "bom-fields";
    public const string RefRule = "bom-ref-format";
    public const string DuplicateRule = "bom-duplicate-ref";
    public const string QuantityRule = "bom-quantity";

    private readonly Dictionary<string, BomRow> _byRef = new(StringComparer.Ordinal);

    private Bom(IReadOnlyList<BomRow> rows, IReadOnlyList<Violation> violations)
    {
        Rows = rows;
        Violations = violations;
        foreach (var row in rows)
        {
            foreach (var r in row.Refs)
            {
                _byRef.TryAdd(r, row);
            }
        }
    }

    public IReadOnlyList<BomRow> Rows { get; }

    public IReadOnlyList<Violation> Violations { get; }

    public bool TryGet(string designator, out BomRow row) => _byRef.TryGetValue(designator, out row!);

    public static Bom Load(string path) => Parse(File.ReadAllText(path));

    public static Bom Parse(string csv)
    {
        var violations = new List<Violation>();
        var rows = new List<BomRow>();
        var records = ReadRecords(csv, violations);
        if (records.Count == 0 || string.Join(',', records[0].Fields) != Header)
        {
            violations.Add(new Violation(HeaderRule, "first line must be '" + Header + "'"));
            return new Bom(rows, violations);
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, f) in records.Skip(1))
        {
            var at = "line " + line;
            if (f.Length != 6)
            {
                violations.Add(new Violation(FieldsRule, at + ": " + f.Length + " fields, expected 6"));
                continue;
            }

            if (f.Take(4).Any(string.IsNullOrWhiteSpace))
            {
                violations.Add(new Violation(FieldsRule, at + ": ref, part, manufacturer and mpn must not be empty"));
            }

            var refs = f[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var r in refs)
            {
                if (!Designator().IsMatch(r))
                {
                    violations.Add(new Violation(RefRule, at + ": '" + r + "' is not a designator like R12 or SW1"));
                }

                if (!seen.TryAdd(r, line))
                {
                    violations.Add(new Violation(DuplicateRule, at + ": " + r + " already listed on line " + seen[r]));
                }
            }

            if (!int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var quantity) || quantity < 1)
            {
                violations.Add(new Violation(QuantityRule, at + ": quantity '" + f[4] + "' must be a whole number of at least 1"));
            }
            else if (quantity < refs.Length)
            {
                violations.Add(new Violation(QuantityRule, at + ": quantity " + quantity + " is less than its " + refs.Length + " designators"));
            }

            rows.Add(new BomRow(line, refs, f[1], f[2], f[3], quantity, f[5]));
        }

        return new Bom(rows, violations);
    }

    [GeneratedRegex("^[A-Z]{1,3}[0-9]{1,3}$")]
    private static partial Regex Designator();

    // A fixed separator (no detection, no "sep=" line); LineNumber is the line a row starts on; a row with malformed quoting is reported and left out.
    private static readonly CsvReaderOptions ReaderOptions = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        DetectSeparatorHint = false,
        HasHeader = false,
        TrackLineNumbers = true,
        MalformedData = CsvMalformedDataHandling.Skip,
        FormatProvider = CultureInfo.InvariantCulture,
    };

    private static List<(int Line, string[] Fields)> ReadRecords(string csv, List<Violation> violations)
    {
        var records = new List<(int, string[])>();

        // Each skipped row is reported with the line it starts on.
        var options = ReaderOptions with
        {
            OnMalformedRecord = m => violations.Add(new Violation(FieldsRule, "line " + m.LineNumber + ": " + m.Reason switch
            {
                CsvMalformedReason.UnterminatedQuote => "unterminated quoted field",
                CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a quoted field",
                _ => "a quote inside an unquoted field",
            })),
        };
        using var reader = CsvReader.FromText(csv, options);
        while (reader.Read())
        {
            records.Add(((int)reader.LineNumber, reader.Current.ToArray()));
        }

        return records;
    }
}
