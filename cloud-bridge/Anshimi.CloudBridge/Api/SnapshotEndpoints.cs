using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

/// <summary>
/// The viewing rule for doorbell snapshots (DESIGN §4 privacy by construction): the image is served only while
/// its alarm is open (not resolved) and only to an operator of the alarm's district or central staff; after
/// resolution only to central staff who opened the case (<see cref="AlarmCases"/>); never for a walk test. Every
/// request, granted or refused, is written to the audit log.
/// </summary>
public static class SnapshotEndpoints
{
    public static void MapSnapshotApi(this RouteGroupBuilder alarms)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        alarms.MapGet("/{key}/snapshot", GetSnapshotAsync).WithName("GetAlarmSnapshot")
            .WithSummary("도어벨 사진: only while the alarm is open, only in the operator's district; every view is audited.");
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetSnapshotAsync(
        string key, HttpContext http, AlarmStore store, ISnapshotReader snapshots, AlarmCases cases, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        string canonical = parsed.ToString();
        var scope = OperatorScope.Of(http.User);
        AlarmRecord? alarm = await store.FindAsync(canonical, cancellationToken);
        if (alarm is null || !scope.CanSee(alarm.DistrictCode))
        {
            await AuditAsync(audit, scope, canonical, "", AuditOutcome.Refused, "no such alarm in the operator's districts", cancellationToken);
            return AlarmProblems.NotFound(canonical);
        }

        if (alarm.Test)
        {
            await AuditAsync(audit, scope, canonical, alarm.DistrictCode, AuditOutcome.Refused, "test alarm", cancellationToken);
            return TypedResults.Problem(
                title: "No snapshot for a test alarm",
                detail: "시험 경보의 사진은 제공하지 않습니다. Snapshots of walk-test alarms are not served.",
                statusCode: StatusCodes.Status404NotFound);
        }

        bool caseOpened = false;
        if (!AlarmState.IsOpen(alarm.State) && !(caseOpened = await cases.IsOpenAsync(scope, canonical, cancellationToken)))
        {
            await AuditAsync(audit, scope, canonical, alarm.DistrictCode, AuditOutcome.Refused, "alarm resolved", cancellationToken);
            return TypedResults.Problem(
                title: "Snapshot no longer available",
                detail: "도어벨 사진은 경보가 처리 중인 동안에만 볼 수 있습니다 (종결 후에는 총괄관제센터의 사건 열람으로만). "
                    + "Snapshots are shown only while the alarm is open; afterwards only to central staff who opened the case.",
                statusCode: StatusCodes.Status410Gone);
        }

        SnapshotImage? image = await snapshots.FindAsync(canonical, cancellationToken);
        if (image is null)
        {
            await AuditAsync(audit, scope, canonical, alarm.DistrictCode, AuditOutcome.Refused, "no snapshot stored", cancellationToken);
            return TypedResults.Problem(title: "No snapshot", detail: $"Alarm {canonical} has no snapshot.", statusCode: StatusCodes.Status404NotFound);
        }

        await AuditAsync(audit, scope, canonical, alarm.DistrictCode, AuditOutcome.Granted, (caseOpened ? "case sha256=" : "sha256=") + image.Sha256Hex, cancellationToken);
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.File(image.Data, image.ContentType);
    }

    private static Task AuditAsync(AuditLog audit, OperatorScope scope, string key, string district, string outcome, string detail, CancellationToken cancellationToken) =>
        audit.AppendAsync(new AuditEntry(scope.UserName, AuditAction.SnapshotView, key, district, outcome, detail), cancellationToken);
}
