using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Operators;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

public sealed record RelayStatusView(
    string Mqtt,
    bool Subscribed,
    long AlarmsInStore,
    long AlarmsStored,
    long Duplicates,
    long Heartbeats,
    long AcksRelayed,
    long Malformed,
    long ReceiptsFailed,
    long Troubles,
    long DeviceStatuses,
    int ConsoleSubscribers);

/// <summary>
/// The operator API under <c>/api</c>: every endpoint requires a signed-in operator and shows only the
/// districts they belong to (central staff: all). Another district's alarm answers 404, like a missing one.
/// </summary>
public static class AlarmEndpoints
{
    public const int MaxListLimit = 1000;

    /// <summary>SSE event name of walk-test alarms, which never enter the live queue.</summary>
    public const string WalkTestEvent = "walk-test";

    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapAlarmApi(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder root = endpoints.MapGroup("/api");
        root.MapSessionApi();
        RouteGroupBuilder api = root.MapGroup("").RequireAuthorization(OperatorAuthentication.OperatorPolicy).RequireConsoleHeader();

        RouteGroupBuilder alarms = api.MapGroup("/alarms").WithTags("Alarms");
        alarms.MapGet("/", ListAlarmsAsync).WithName("ListAlarms")
            .WithSummary("Alarms of the operator's districts, newest first; view=live (default) or view=walk-test (시험 경보 only).");
        alarms.MapGet("/stream", StreamAlarms).WithName("StreamAlarms")
            .WithSummary("Server-Sent Events: 'alarm' for a new alarm, 'alarm-updated' for a change, 'walk-test' for a test alarm; data is the alarm JSON.");
        alarms.MapGet("/{key}", GetAlarmAsync).WithName("GetAlarm");
        alarms.MapPost("/{key}/ack", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Acknowledged, OperatorScope.Of(http.User), ct)).WithName("AcknowledgeAlarm").WithSummary("확인: help is on the way.");
        alarms.MapPost("/{key}/dispatch", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Dispatched, OperatorScope.Of(http.User), ct)).WithName("DispatchAlarm").WithSummary("출동 지령: staff, guards or police sent.");
        alarms.MapPost("/{key}/resolve", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Resolved, OperatorScope.Of(http.User), ct)).WithName("ResolveAlarm").WithSummary("종결: close the alarm.");
        alarms.MapSnapshotApi();

        api.MapDeviceApi();
        api.MapMapApi();
        api.MapAuditApi();
        api.MapBindingApi();
        api.MapGet("/status", GetStatusAsync).WithName("GetRelayStatus").WithTags("Status");
        return api;
    }

    private static async Task<Results<Ok<List<AlarmView>>, ProblemHttpResult>> ListAlarmsAsync(
        HttpContext http, AlarmStore store, DistrictDirectory districts, CancellationToken cancellationToken, int limit = 200, string view = "live")
    {
        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.Problem(title: "Invalid limit", detail: $"limit must be between 1 and {MaxListLimit}.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (view is not ("live" or WalkTestEvent))
        {
            return TypedResults.Problem(title: "Invalid view", detail: "view must be live or walk-test.", statusCode: StatusCodes.Status400BadRequest);
        }

        var scope = OperatorScope.Of(http.User);
        var filter = new AlarmFilter(scope.Central ? null : scope.Districts, view == WalkTestEvent);
        IReadOnlyList<AlarmRecord> alarms = await store.ListAsync(limit, filter, cancellationToken);
        return TypedResults.Ok(alarms.Select(a => AlarmView.From(a, districts)).ToList());
    }

    private static async Task<Results<Ok<AlarmView>, ProblemHttpResult>> GetAlarmAsync(
        string key, HttpContext http, AlarmStore store, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        AlarmRecord? alarm = await store.FindAsync(parsed.ToString(), cancellationToken);
        return alarm is null || !OperatorScope.Of(http.User).CanSee(alarm.DistrictCode)
            ? AlarmProblems.NotFound(parsed.ToString())
            : TypedResults.Ok(AlarmView.From(alarm, districts));
    }

    private static ServerSentEventsResult<string> StreamAlarms(HttpContext http, AlarmFeed feed, IOptions<HttpJsonOptions> json, CancellationToken cancellationToken) =>
        TypedResults.ServerSentEvents(FeedEventsAsync(feed, OperatorScope.Of(http.User), json.Value.SerializerOptions, cancellationToken));

    private static async IAsyncEnumerable<SseItem<string>> FeedEventsAsync(
        AlarmFeed feed, OperatorScope scope, JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribe before "ready" so a client that saw "ready" cannot miss what follows.
        using AlarmSubscription subscription = feed.Subscribe();
        yield return new SseItem<string>("{}", "ready") { ReconnectionInterval = TimeSpan.FromSeconds(2) };
        while (true)
        {
            bool more;
            using (var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                keepAlive.CancelAfter(KeepAliveInterval);
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(keepAlive.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    more = true;
                }
            }

            if (!more)
            {
                // Cut off for falling behind: the client reconnects and reloads the list.
                yield break;
            }

            if (!subscription.Reader.TryPeek(out _))
            {
                yield return new SseItem<string>("{}", "ping");
            }

            while (subscription.Reader.TryRead(out AlarmFeedEvent? feedEvent))
            {
                // Other districts' alarms are never written to this operator's stream.
                if (scope.CanSee(feedEvent.Alarm.District.Code))
                {
                    string kind = feedEvent.Alarm.Test ? WalkTestEvent : feedEvent.Kind;
                    yield return new SseItem<string>(JsonSerializer.Serialize(feedEvent.Alarm, json), kind);
                }
            }
        }
    }

    private static async Task<Ok<RelayStatusView>> GetStatusAsync(
        AlarmStore store, RelayStatistics statistics, AlarmFeed feed, MqttSession mqtt, GatewayIngress relay, CancellationToken cancellationToken) =>
        TypedResults.Ok(new RelayStatusView(
            mqtt.State.ToString().ToLowerInvariant(),
            relay.IsSubscribed,
            await store.CountAsync(cancellationToken),
            statistics.AlarmsStored,
            statistics.Duplicates,
            statistics.Heartbeats,
            statistics.AcksRelayed,
            statistics.Malformed,
            statistics.ReceiptsFailed,
            statistics.Troubles,
            statistics.DeviceStatuses,
            feed.SubscriberCount));
}
