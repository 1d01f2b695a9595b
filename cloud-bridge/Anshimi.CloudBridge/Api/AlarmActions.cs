using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

/// <summary>An operator's acknowledge / resolve: stored with its outbox row, then sent, then shown to every console.</summary>
public sealed class AlarmActions
{
    private readonly AlarmStore _store;
    private readonly DistrictDirectory _districts;
    private readonly OperatorAckOutbox _outbox;
    private readonly AlarmFeed _feed;
    private readonly TimeProvider _time;

    public AlarmActions(AlarmStore store, DistrictDirectory districts, OperatorAckOutbox outbox, AlarmFeed feed, TimeProvider time)
    {
        _store = store;
        _districts = districts;
        _outbox = outbox;
        _feed = feed;
        _time = time;
    }

    public async Task<Results<Ok<AlarmView>, ProblemHttpResult>> ApplyAsync(
        string key, string stage, OperatorActionRequest? request, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        string operatorName = request?.Operator?.Trim() ?? "";
        if (operatorName.Length == 0)
        {
            operatorName = AlarmEndpoints.DefaultOperator;
        }
        else if (operatorName.Length > AlarmEndpoints.MaxOperatorLength || operatorName.Any(char.IsControl))
        {
            return TypedResults.Problem(
                title: "Invalid operator",
                detail: $"operator must be at most {AlarmEndpoints.MaxOperatorLength} printable characters.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        string canonical = parsed.ToString();
        OperatorActionResult result = await _store.ApplyOperatorActionAsync(canonical, stage, operatorName, _time.GetUtcNow(), cancellationToken);
        switch (result.Outcome)
        {
            case OperatorActionOutcome.NotFound:
                return AlarmProblems.NotFound(canonical);
            case OperatorActionOutcome.AlreadyResolved:
                return TypedResults.Problem(
                    title: "Alarm already resolved",
                    detail: $"Alarm {canonical} is resolved; it cannot be {(stage == AlarmState.Resolved ? "resolved" : "acknowledged")} again.",
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
}

internal static class AlarmProblems
{
    public static ProblemHttpResult InvalidKey(string key) => TypedResults.Problem(
        title: "Invalid alarm key",
        detail: "An alarm key is the device id (8 hex digits), a colon and the frame counter, e.g. 0000A1B2:5.",
        statusCode: StatusCodes.Status400BadRequest,
        extensions: new Dictionary<string, object?> { ["key"] = key.Length > 64 ? key[..64] : key });

    public static ProblemHttpResult NotFound(string key) => TypedResults.Problem(
        title: "Alarm not found",
        detail: $"No alarm with key {key}.",
        statusCode: StatusCodes.Status404NotFound,
        extensions: new Dictionary<string, object?> { ["key"] = key });
}
