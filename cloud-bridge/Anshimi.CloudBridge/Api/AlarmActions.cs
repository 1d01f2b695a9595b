using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

/// <summary>
/// An operator's acknowledge / dispatch / resolve: only on an alarm of their district, stored with its outbox row
/// and its audit entry in one transaction, then sent, then shown to every console. The actor is the signed-in operator, never a field of the request.
/// </summary>
public sealed class AlarmActions
{
    private readonly AlarmStore _store;
    private readonly DistrictDirectory _districts;
    private readonly OperatorAckOutbox _outbox;
    private readonly AlarmFeed _feed;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;

    public AlarmActions(AlarmStore store, DistrictDirectory districts, OperatorAckOutbox outbox, AlarmFeed feed, AuditLog audit, TimeProvider time)
    {
        _store = store;
        _districts = districts;
        _outbox = outbox;
        _feed = feed;
        _audit = audit;
        _time = time;
    }

    public async Task<Results<Ok<AlarmView>, ProblemHttpResult>> ApplyAsync(
        string key, string stage, OperatorScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        string canonical = parsed.ToString();
        AlarmRecord? visible = await _store.FindAsync(canonical, cancellationToken);
        if (visible is null || !scope.CanSee(visible.DistrictCode))
        {
            return AlarmProblems.NotFound(canonical);
        }

        var entry = new AuditEntry(scope.UserName, AuditActionOf(stage), canonical, visible.DistrictCode, AuditOutcome.Done, "");
        OperatorActionResult result = await _store.ApplyOperatorActionAsync(
            canonical, stage, scope.UserName, _time.GetUtcNow(), (connection, ct) => _audit.AppendInTransactionAsync(connection, entry, ct), cancellationToken);
        switch (result.Outcome)
        {
            case OperatorActionOutcome.NotFound:
                return AlarmProblems.NotFound(canonical);
            case OperatorActionOutcome.AlreadyResolved:
                return TypedResults.Problem(
                    title: "Alarm already resolved",
                    detail: $"Alarm {canonical} is resolved; it cannot be {stage} again.",
                    statusCode: StatusCodes.Status409Conflict,
                    extensions: new Dictionary<string, object?> { ["key"] = canonical, ["state"] = AlarmState.Resolved });
            case OperatorActionOutcome.Applied:
                _outbox.Wake();
                AlarmView view = AlarmView.From(result.Alarm!, _districts);
                _feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.Updated, view));
                return TypedResults.Ok(view);
            default:
                return TypedResults.Ok(AlarmView.From(result.Alarm!, _districts));
        }
    }

    private static string AuditActionOf(string stage) => stage switch
    {
        AlarmState.Acknowledged => AuditAction.Acknowledge,
        AlarmState.Dispatched => AuditAction.Dispatch,
        _ => AuditAction.Resolve,
    };
}

internal static class AlarmProblems
{
    public static ProblemHttpResult InvalidKey(string key) => TypedResults.Problem(
        title: "Invalid alarm key",
        detail: "An alarm key is the device id (8 hex digits), a colon and the frame counter, e.g. 0000A1B2:5.",
        statusCode: StatusCodes.Status400BadRequest,
        extensions: new Dictionary<string, object?> { ["key"] = key.Length > 64 ? key[..64] : key });

    /// <summary>Also the answer for another district's alarm, so its existence is not revealed.</summary>
    public static ProblemHttpResult NotFound(string key) => TypedResults.Problem(
        title: "Alarm not found",
        detail: $"No alarm with key {key}.",
        statusCode: StatusCodes.Status404NotFound,
        extensions: new Dictionary<string, object?> { ["key"] = key });
}
