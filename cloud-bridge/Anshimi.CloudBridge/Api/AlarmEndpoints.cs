using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

/// <summary>Body of an operator action; optional until operator sign-in arrives.</summary>
public sealed record OperatorActionRequest(string? Operator);

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
    int ConsoleSubscribers);

/// <summary>The operator API under <c>/api</c>; one group so sign-in and district isolation can be added to it in one place.</summary>
public static class AlarmEndpoints
{
    public const int MaxListLimit = 1000;
    public const int MaxOperatorLength = 64;
    public const string DefaultOperator = "operator";

    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapAlarmApi(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder api = endpoints.MapGroup("/api");

        RouteGroupBuilder alarms = api.MapGroup("/alarms").WithTags("Alarms");
        alarms.MapGet("/", ListAlarmsAsync).WithName("ListAlarms").WithSummary("Alarms, newest first.");
        alarms.MapGet("/stream", StreamAlarms).WithName("StreamAlarms")
            .WithSummary("Server-Sent Events: 'alarm' for a new alarm, 'alarm-updated' for a change; data is the alarm JSON.");
        alarms.MapGet("/{key}", GetAlarmAsync).WithName("GetAlarm");
        alarms.MapPost("/{key}/ack", (string key, [FromBody] OperatorActionRequest? body, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Acknowledged, body, ct)).WithName("AcknowledgeAlarm").WithSummary("확인: help is on the way.");
        alarms.MapPost("/{key}/resolve", (string key, [FromBody] OperatorActionRequest? body, AlarmActions actions, CancellationToken ct) =>
            actions.ApplyAsync(key, AlarmState.Resolved, body, ct)).WithName("ResolveAlarm").WithSummary("종결: close the alarm.");

        api.MapGet("/gateways", ListGatewaysAsync).WithName("ListGateways").WithTags("Gateways");
        api.MapGet("/status", GetStatusAsync).WithName("GetRelayStatus").WithTags("Status");
        return api;
    }

    private static async Task<Results<Ok<List<AlarmView>>, ProblemHttpResult>> ListAlarmsAsync(
        AlarmStore store, DistrictDirectory districts, CancellationToken cancellationToken, int limit = 200)
    {
        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.Problem(title: "Invalid limit", detail: $"limit must be between 1 and {MaxListLimit}.", statusCode: StatusCodes.Status400BadRequest);
        }

        IReadOnlyList<AlarmRecord> alarms = await store.ListAsync(limit, cancellationToken);
        return TypedResults.Ok(alarms.Select(a => AlarmView.From(a, districts)).ToList());
    }

    private static async Task<Results<Ok<AlarmView>, ProblemHttpResult>> GetAlarmAsync(
        string key, AlarmStore store, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(key, out AlarmKey parsed))
        {
            return AlarmProblems.InvalidKey(key);
        }

        AlarmRecord? alarm = await store.FindAsync(parsed.ToString(), cancellationToken);
        return alarm is null ? AlarmProblems.NotFound(parsed.ToString()) : TypedResults.Ok(AlarmView.From(alarm, districts));
    }

    private static ServerSentEventsResult<string> StreamAlarms(AlarmFeed feed, IOptions<HttpJsonOptions> json, CancellationToken cancellationToken) =>
        TypedResults.ServerSentEvents(FeedEventsAsync(feed, json.Value.SerializerOptions, cancellationToken));

    private static async IAsyncEnumerable<SseItem<string>> FeedEventsAsync(
        AlarmFeed feed, JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken cancellationToken)
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
                yield return new SseItem<string>(JsonSerializer.Serialize(feedEvent.Alarm, json), feedEvent.Kind);
            }
        }
    }

    private static async Task<Ok<List<GatewayView>>> ListGatewaysAsync(AlarmStore store, CancellationToken cancellationToken)
    {
        IReadOnlyList<GatewayRecord> gateways = await store.ListGatewaysAsync(cancellationToken);
        return TypedResults.Ok(gateways.Select(g => new GatewayView(g.GatewayId, g.LastSeenAt, g.OutboxDepth)).ToList());
    }

    private static async Task<Ok<RelayStatusView>> GetStatusAsync(
        AlarmStore store, RelayStatistics statistics, AlarmFeed feed, IMqttClient mqtt, AlarmRelay relay, CancellationToken cancellationToken) =>
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
            feed.SubscriberCount));
}
