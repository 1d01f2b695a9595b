using System.Globalization;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Retention;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

public sealed record RetentionPeriodView(string Table, TimeSpan Period);

public sealed record RetentionPurgeView(DateTimeOffset At, string Table, long Removed);

/// <summary>보존 기간 보고: each table's period, when the purge last ran, and what it removed when — counts only.</summary>
public sealed record RetentionReportView(IReadOnlyList<RetentionPeriodView> Periods, DateTimeOffset? LastPassAt, IReadOnlyList<RetentionPurgeView> Purges);

/// <summary>Central staff only: the retention report, read from the purge's own audit entries.</summary>
public static class RetentionEndpoints
{
    public const int MaxLimit = 1000;

    public static void MapRetentionApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/retention", GetReportAsync).WithName("GetRetentionReport").WithTags("Retention")
            .RequireAuthorization(OperatorAuthentication.CentralPolicy)
            .WithSummary("보존 기간 보고: periods, last pass, and counts purged per table, newest first.");
    }

    private static async Task<Results<Ok<RetentionReportView>, ProblemHttpResult>> GetReportAsync(
        AuditLog audit, RetentionPurge purge, IOptions<RetentionOptions> options, CancellationToken cancellationToken, int limit = 100)
    {
        if (limit is < 1 or > MaxLimit)
        {
            return TypedResults.Problem(title: "Invalid limit", detail: $"limit must be between 1 and {MaxLimit}.", statusCode: StatusCodes.Status400BadRequest);
        }

        RetentionOptions o = options.Value;
        List<RetentionPeriodView> periods =
        [
            .. o.Periods().Select(p => new RetentionPeriodView(p.Name, p.Period)),
            new RetentionPeriodView(RetentionTables.AuditLog, o.AuditLog),
        ];
        IReadOnlyList<AuditRecord> rows = await audit.ListByActorAsync(RetentionPurge.Actor, AuditAction.RetentionPurge, limit, cancellationToken);
        return TypedResults.Ok(new RetentionReportView(periods, purge.LastPassAt, rows.Select(r => new RetentionPurgeView(r.At, r.Entry.Target, Removed(r.Entry.Detail))).ToList()));
    }

    private static long Removed(string detail) =>
        detail.StartsWith("removed=", StringComparison.Ordinal)
        && long.TryParse(detail.AsSpan("removed=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : 0;
}
