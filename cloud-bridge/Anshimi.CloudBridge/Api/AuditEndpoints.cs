using System.Globalization;
using System.Text;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Storage;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

public sealed record AuditRecordView(long Id, DateTimeOffset At, string Actor, string Action, string Target, string District, string Outcome, string Detail, string Hash);

/// <summary>Central staff only: read, export and verify the audit log. There is no endpoint that changes it.</summary>
public static class AuditEndpoints
{
    public const int MaxLimit = 5000;

    public static readonly string[] ExportColumns = ["id", "at", "actor", "action", "target", "district", "outcome", "detail", "prev_hash", "hash"];

    // Central staff open the file in a spreadsheet, and actors such as a failed sign-in's user name come from outside:
    // a field starting with = + - @, tab or CR gets a leading ' and is quoted, so it shows as text and never runs.
    // To re-compute the chain from the file, drop that one ' before such a character.
    private static readonly CsvWriterOptions ExportOptions = new()
    {
        Mode = CsvMode.Rfc4180,
        Separator = ',',
        NewLine = "\n",
        FormatProvider = CultureInfo.InvariantCulture,
        Injection = CsvInjection.Escape,
    };

    public static void MapAuditApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        RouteGroupBuilder audit = api.MapGroup("/audit").WithTags("Audit").RequireAuthorization(OperatorAuthentication.CentralPolicy);
        audit.MapGet("/", ListAsync).WithName("ListAudit").WithSummary("감사 기록, newest first; target filters by alarm key or user.");
        audit.MapGet("/verify", (AuditLog log, CancellationToken ct) => log.VerifyAsync(ct)).WithName("VerifyAudit")
            .WithSummary("Re-computes the hash chain; names the first broken row.");
        audit.MapGet("/export", ExportAsync).WithName("ExportAudit").WithSummary("CSV export; the export itself is audited.");
    }

    private static async Task<Results<Ok<List<AuditRecordView>>, ProblemHttpResult>> ListAsync(
        AuditLog log, CancellationToken cancellationToken, int limit = 200, string? target = null)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return TypedResults.Problem(title: "Invalid limit", detail: $"limit must be between 1 and {MaxLimit}.", statusCode: StatusCodes.Status400BadRequest);
        }

        IReadOnlyList<AuditRecord> rows = await log.ListAsync(limit, target, cancellationToken);
        return TypedResults.Ok(rows.Select(View).ToList());
    }

    private static async Task<FileContentHttpResult> ExportAsync(HttpContext http, AuditLog log, CancellationToken cancellationToken)
    {
        IReadOnlyList<AuditRecord> rows = await log.ListAsync(int.MaxValue, null, cancellationToken);
        var scope = OperatorScope.Of(http.User);
        await log.AppendAsync(new AuditEntry(scope.UserName, AuditAction.Export, "audit", "", AuditOutcome.Done,
            "rows=" + rows.Count.ToString(CultureInfo.InvariantCulture)), cancellationToken);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (CsvWriter csv = CsvWriter.Create(text, ExportOptions, leaveOpen: true))
        {
            csv.WriteHeader(ExportColumns);
            foreach (AuditRecord row in rows.Reverse())
            {
                csv.WriteRecord(
                [
                    row.Id.ToString(CultureInfo.InvariantCulture), StoreDatabase.Text(row.At), row.Entry.Actor, row.Entry.Action,
                    row.Entry.Target, row.Entry.District, row.Entry.Outcome, row.Entry.Detail, row.PreviousHash, row.Hash,
                ]);
            }
        }

        return TypedResults.File(Encoding.UTF8.GetBytes(text.ToString()), "text/csv; charset=utf-8", "anshimi-audit.csv");
    }

    private static AuditRecordView View(AuditRecord r) =>
        new(r.Id, r.At, r.Entry.Actor, r.Entry.Action, r.Entry.Target, r.Entry.District, r.Entry.Outcome, r.Entry.Detail, r.Hash);
}
