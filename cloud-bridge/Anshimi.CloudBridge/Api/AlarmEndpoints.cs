using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Cameras;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Operators;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

/// <summary>Body of <c>POST /api/alarms/{key}/case</c>.</summary>
public sealed record CaseRequest(string? Reason);

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
    int ConsoleSubscribers,
    long Failed);

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
            .WithSummary("Alarms of the operator's districts, newest first; view=live (default) or view=walk-test (시험 경보 only); neighbourhood=행정동 code.");
        alarms.MapGet("/stream", StreamAlarms).WithName("StreamAlarms")
            .WithSummary("Server-Sent Events: 'alarm' for a new alarm, 'alarm-updated' for a change, 'walk-test' for a test alarm; data is the alarm JSON.");
        alarms.MapGet("/{key}", GetAlarmAsync).WithName("GetAlarm")
            .WithSummary("One alarm (a view: audited, one row per request) with the linked CCTV points nearest its site (the operator's districts' only, nearest first; withheld with the site). A closed alarm's site is withheld unless central staff opened its case.");
        alarms.MapPost("/{key}/case", OpenCaseAsync).WithName("OpenAlarmCase").RequireAuthorization(OperatorAuthentication.CentralPolicy)
            .WithSummary("사건 열람: central staff state a reason to see a closed alarm's site and picture for a while; audited.");
        alarms.MapPost("/{key}/ack", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Acknowledged, OperatorScope.Of(http.User), ct)).WithName("AcknowledgeAlarm").WithSummary("확인: help is on the way.");
        alarms.MapPost("/{key}/dispatch", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Dispatched, OperatorScope.Of(http.User), ct)).WithName("DispatchAlarm").WithSummary("출동 지령: staff, guards or police sent.");
        alarms.MapPost("/{key}/resolve", (string key, HttpContext http, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Resolved, OperatorScope.Of(http.User), ct)).WithName("ResolveAlarm").WithSummary("종결: close the alarm.");
        alarms.MapSnapshotApi();

        api.MapGet("/neighbourhoods", (HttpContext http, DistrictDirectory districts) =>
            TypedResults.Ok(districts.Neighbourhoods.Where(n => OperatorScope.Of(http.User).CanSee(n.DistrictCode)).ToList()))
            .WithName("ListNeighbourhoods").WithTags("Alarms").WithSummary("The 행정동 of the operator's districts, to filter alarms by.");
        api.MapGet("/cameras/settings", (IOptions<CameraOptions> options) => TypedResults.Ok(new { options.Value.RadiusMetres, options.Value.MaxPerAlarm }))
            .WithName("GetCameraSettings").WithTags("Alarms").WithSummary("How far and how many Anshimi CCTV points an alarm detail lists.");
        api.MapDeviceApi();
        api.MapMapApi();
        api.MapAuditApi();
        api.MapRetentionApi();
        api.MapBindingApi();
        api.MapFirmwareApi();
        api.MapGet("/status", GetStatusAsync).WithName("GetRelayStatus").WithTags("Status");
        return api;
    }

    private static async Task<Results<Ok<List<AlarmView>>, ProblemHttpResult>> ListAlarmsAsync(
        HttpContext http, AlarmStore store, DistrictDirectory districts, CancellationToken cancellationToken, int limit = 200, string view = "live",
        string? neighbourhood = null)
    {
        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.Problem(title: "Invalid limit", detail: $"limit must be between 1 and {MaxListLimit}.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (view is not ("live" or WalkTestEvent))
        {
            return TypedResults.Problem(title: "Invalid view", detail: "view must be live or walk-test.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (neighbourhood is not null && districts.NeighbourhoodOf(neighbourhood) is null)
        {
            return TypedResults.Problem(title: "Invalid neighbourhood", detail: "neighbourhood must be a 행정동 code (adm_cd2) such as 1121571000.", statusCode: StatusCodes.Status400BadRequest);
        }

        var scope = OperatorScope.Of(http.User);
        var filter = new AlarmFilter(scope.Central ? null : scope.Districts, view == WalkTestEvent) { Neighbourhood = neighbourhood };
        IReadOnlyList<AlarmRecord> alarms = await store.ListAsync(limit, filter, cancellationToken);
        return TypedResults.Ok(alarms.Select(a => AlarmView.From(a, districts)).ToList());
    }

    private static async Task<Results<Ok<AlarmView>, ProblemHttpResult>> GetAlarmAsync(
        string key, HttpContext http, AlarmStore store, DistrictDirectory districts, AlarmCases cases, AuditLog audit, NearbyCameras cameras, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        var scope = OperatorScope.Of(http.User);
        AlarmRecord? alarm = await store.FindAsync(parsed.ToString(), cancellationToken);
        if (alarm is null || !scope.CanSee(alarm.DistrictCode))
        {
            return AlarmProblems.NotFound(parsed.ToString());
        }

        bool caseOpened = !AlarmState.IsOpen(alarm.State) && await cases.IsOpenAsync(scope, alarm.Key, cancellationToken);
        AlarmView view = AlarmView.From(alarm, districts, caseOpened);
        if (view.Site.Address is not null)
        {
            // A site near a district border sees the neighbour's cameras only for operators of both districts.
            view = view with { Cameras = cameras.Around(alarm.Latitude, alarm.Longitude, scope.CanSee) };
        }

        await audit.AppendAsync(new AuditEntry(scope.UserName, AuditAction.AlarmView, alarm.Key, alarm.DistrictCode, AuditOutcome.Granted,
            view.Site.Address is null ? "site=withheld" : caseOpened ? "site=shown case" : "site=shown"), cancellationToken);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<AlarmView>, ProblemHttpResult>> OpenCaseAsync(
        string key, CaseRequest? request, HttpContext http, AlarmStore store, DistrictDirectory districts, AlarmCases cases, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        string? reason = AlarmCases.CheckReason(request?.Reason);
        if (reason is null)
        {
            return TypedResults.Problem(
                title: "Reason required",
                detail: $"열람 사유를 입력하세요 ({AlarmCaseOptions.MinReasonLength}–{AlarmCaseOptions.MaxReasonLength}자). "
                    + $"State why the case is opened ({AlarmCaseOptions.MinReasonLength}–{AlarmCaseOptions.MaxReasonLength} characters, one line).",
                statusCode: StatusCodes.Status400BadRequest);
        }

        AlarmRecord? alarm = await store.FindAsync(parsed.ToString(), cancellationToken);
        if (alarm is null)
        {
            return AlarmProblems.NotFound(parsed.ToString());
        }

        await cases.OpenAsync(OperatorScope.Of(http.User), alarm, reason, cancellationToken);
        return TypedResults.Ok(AlarmView.From(alarm, districts, caseOpened: true));
    }

    private static ServerSentEventsResult<string> StreamAlarms(
        HttpContext http, AlarmFeed feed, OperatorSessionStore sessions, IOptions<OperatorOptions> operators, TimeProvider time,
        IOptions<HttpJsonOptions> json, CancellationToken cancellationToken) =>
        TypedResults.ServerSentEvents(FeedEventsAsync(
            feed, OperatorScope.Of(http.User), sessions, operators.Value.StreamSessionCheck, time, json.Value.SerializerOptions, cancellationToken));

    private static async IAsyncEnumerable<SseItem<string>> FeedEventsAsync(
        AlarmFeed feed,
        OperatorScope scope,
        OperatorSessionStore sessions,
        TimeSpan sessionCheck,
        TimeProvider time,
        JsonSerializerOptions json,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribe before "ready" so a client that saw "ready" cannot miss what follows.
        using AlarmSubscription subscription = feed.Subscribe();
        yield return new SseItem<string>("{}", "ready") { ReconnectionInterval = TimeSpan.FromSeconds(2) };
        long lastWrite = time.GetTimestamp();
        while (true)
        {
            bool more;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(sessionCheck < KeepAliveInterval ? sessionCheck : KeepAliveInterval);
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(wait.Token);
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

            // Before anything more is written, and at least every sessionCheck: a session that was signed out, or
            // whose account was changed or disabled, hears nothing more, and its reconnect is refused (401).
            if (scope.SessionId is null || await sessions.CurrentScopeAsync(scope.SessionId, cancellationToken) is not { } current)
            {
                yield break;
            }

            scope = current;
            if (!subscription.Reader.TryPeek(out _))
            {
                if (time.GetElapsedTime(lastWrite) >= KeepAliveInterval)
                {
                    lastWrite = time.GetTimestamp();
                    yield return new SseItem<string>("{}", "ping");
                }

                continue;
            }

            while (subscription.Reader.TryRead(out AlarmFeedEvent? feedEvent))
            {
                // Other districts' alarms are never written to this operator's stream.
                if (scope.CanSee(feedEvent.Alarm.District.Code))
                {
                    string kind = feedEvent.Alarm.Test ? WalkTestEvent : feedEvent.Kind;
                    lastWrite = time.GetTimestamp();
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
            feed.SubscriberCount,
            statistics.Failed));
}
