using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.App;

/// <summary>
/// The API for the Anshimi app back end under <c>/api/app/v1</c>: return-home monitoring sessions
/// (귀가모니터링), their location updates and escort advertisements, and emergency reports (긴급신고).
/// Every call needs a client's <c>X-Api-Key</c>.
/// </summary>
public static class AppEndpoints
{
    public const string Prefix = "/api/app/v1";
    public const string IdempotencyHeader = "Idempotency-Key";
    public const int MaxIdempotencyKeyLength = 64;

    public static RouteGroupBuilder MapAppApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ApiKeyAuthentication authentication = endpoints.ServiceProvider.GetRequiredService<ApiKeyAuthentication>();
        RouteGroupBuilder app = endpoints.MapGroup(Prefix)
            .AddEndpointFilter(authentication.FilterAsync)
            .WithTags("App")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        app.MapPost("/escorts", StartAsync).WithName("StartEscort")
            .WithSummary("귀가모니터링 시작: start return-home monitoring from origin to destination, optionally along a route.")
            .Accepts<StartEscortRequest>("application/json")
            .Produces<EscortSessionView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        app.MapGet("/escorts/{id}", GetAsync).WithName("GetEscort").WithSummary("The session and its state.")
            .Produces<EscortSessionView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost("/escorts/{id}/locations", AddLocationsAsync).WithName("AddEscortLocations")
            .WithSummary("One or a small batch of location fixes with their times; lights ahead brighten, lights passed are released.")
            .Accepts<LocationBatchRequest>("application/json")
            .Produces<LocationsAcceptedView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        app.MapPost("/escorts/{id}/end", EndAsync).WithName("EndEscort")
            .WithSummary("귀가모니터링 종료: reason arrived or cancelled; the session's lights are released.")
            .Accepts<EndEscortRequest>("application/json")
            .Produces<EscortSessionView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        app.MapGet("/escorts/{id}/advertisement", GetAdvertisementAsync).WithName("GetEscortAdvertisement")
            .WithSummary("This minute's escort frame, sealed for the walker's district (protocol §10.1), and BLE advertisement for the phone to broadcast.")
            .Produces<EscortAdvertisementView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/emergencies", ReportEmergencyAsync).WithName("ReportEmergency")
            .WithSummary("긴급신고: opens an alarm for the district control center and sets the nearest lights blinking. Needs an Idempotency-Key header; a repeat returns the first result.")
            .Accepts<EmergencyRequest>("application/json")
            .Produces<EmergencyView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        app.MapGet("/emergencies/{alarmKey}", GetEmergencyAsync).WithName("GetEmergency")
            .WithSummary("The report's alarm state at the control center: open, acknowledged (help is on the way) or resolved.")
            .Produces<EmergencyStatusView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> GetEmergencyAsync(
        string alarmKey, HttpContext context, EscortStore store, AlarmStore alarms, CancellationToken cancellationToken)
    {
        EmergencyRecord? record = EmergencyReports.IsAppReport(alarmKey) ? await store.FindEmergencyByAlarmAsync(alarmKey, cancellationToken) : null;
        AlarmRecord? alarm = record is null || record.Client != ApiKeyAuthentication.ClientOf(context)
            ? null
            : await alarms.FindAsync(record.AlarmKey, cancellationToken);
        if (alarm is null)
        {
            return AppProblems.Problem(StatusCodes.Status404NotFound, "Unknown emergency", "No emergency report with this alarm key for this client.");
        }

        return TypedResults.Ok(new EmergencyStatusView(
            alarm.Key,
            alarm.State,
            alarm.Timeline.FirstOrDefault(t => t.Stage == TimelineStage.Acknowledged)?.At,
            alarm.Timeline.FirstOrDefault(t => t.Stage == TimelineStage.Resolved)?.At));
    }

    private static async Task<IResult> StartAsync(
        HttpContext context, AppRequestReader reader, AppRequestBodies bodies, EscortSessions sessions, IOptions<EscortOptions> options, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        (byte[]? json, IResult? problem) = await reader.ReadAsync(context.Request, cancellationToken);
        (EscortStart? start, problem) = json is null ? (null, problem) : bodies.StartEscort(json);
        if (start is null)
        {
            return problem!;
        }

        EscortSessionRecord session = await sessions.StartAsync(
            ApiKeyAuthentication.ClientOf(context), start.Origin, start.Destination, start.Route, cancellationToken);
        return TypedResults.Created($"{Prefix}/escorts/{DeviceIdText.Format(session.SessionId)}", View(session, options.Value, districts));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, EscortSessions sessions, IOptions<EscortOptions> options, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        if (!AppRequestBodies.TryParseSession(id, out uint sessionId))
        {
            return AppProblems.UnknownSession(id);
        }

        (EscortLookup lookup, EscortSessionRecord? session) = await sessions.FindAsync(ApiKeyAuthentication.ClientOf(context), sessionId, cancellationToken);
        return lookup == EscortLookup.NotFound ? AppProblems.UnknownSession(id) : TypedResults.Ok(View(session!, options.Value, districts));
    }

    private static async Task<IResult> AddLocationsAsync(
        string id, HttpContext context, AppRequestReader reader, AppRequestBodies bodies, EscortSessions sessions, CancellationToken cancellationToken)
    {
        if (!AppRequestBodies.TryParseSession(id, out uint sessionId))
        {
            return AppProblems.UnknownSession(id);
        }

        (byte[]? json, IResult? problem) = await reader.ReadAsync(context.Request, cancellationToken);
        (IReadOnlyList<LocationFix>? fixes, problem) = json is null ? (null, problem) : bodies.Locations(json);
        if (fixes is null)
        {
            return problem!;
        }

        (EscortLookup lookup, int lit) = await sessions.AddLocationsAsync(ApiKeyAuthentication.ClientOf(context), sessionId, fixes, cancellationToken);
        return lookup switch
        {
            EscortLookup.NotFound => AppProblems.UnknownSession(id),
            EscortLookup.Ended => AppProblems.EndedSession(id, null),
            _ => TypedResults.Ok(new LocationsAcceptedView(DeviceIdText.Format(sessionId), fixes.Count, lit)),
        };
    }

    private static async Task<IResult> EndAsync(
        string id, HttpContext context, AppRequestReader reader, EscortSessions sessions, IOptions<EscortOptions> options, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        if (!AppRequestBodies.TryParseSession(id, out uint sessionId))
        {
            return AppProblems.UnknownSession(id);
        }

        (byte[]? json, IResult? problem) = await reader.ReadAsync(context.Request, cancellationToken);
        (string? reason, problem) = json is null ? (null, problem) : AppRequestBodies.EndEscort(json);
        if (reason is null)
        {
            return problem!;
        }

        (EscortLookup lookup, EscortSessionRecord? session) = await sessions.EndAsync(ApiKeyAuthentication.ClientOf(context), sessionId, reason, cancellationToken);
        return lookup switch
        {
            EscortLookup.NotFound => AppProblems.UnknownSession(id),
            EscortLookup.Ended => AppProblems.EndedSession(id, null),
            _ => TypedResults.Ok(View(session!, options.Value, districts)),
        };
    }

    private static async Task<IResult> GetAdvertisementAsync(
        string id, HttpContext context, EscortSessions sessions, EscortAdvertiser advertiser, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        if (!AppRequestBodies.TryParseSession(id, out uint sessionId))
        {
            return AppProblems.UnknownSession(id);
        }

        (EscortLookup lookup, EscortSessionRecord? session) = await sessions.FindAsync(ApiKeyAuthentication.ClientOf(context), sessionId, cancellationToken);
        if (lookup == EscortLookup.NotFound)
        {
            return AppProblems.UnknownSession(id);
        }

        if (lookup == EscortLookup.Ended)
        {
            return AppProblems.EndedSession(id, session?.State);
        }

        if (!advertiser.IsConfigured)
        {
            return AppProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Escort key not configured", "This bridge has no escort key (Escorts:EscortKey).");
        }

        // The frame is sealed for the district the walker was last reported in: lights elsewhere refuse it (§10.1).
        if (!EscortKeySchedule.TryParseArea(districts.Resolve(session!.LastPosition.Latitude, session.LastPosition.Longitude), out ushort area))
        {
            return AppProblems.Problem(StatusCodes.Status409Conflict, "Outside the lit areas", "The walker's last position is in no district with streetlights.");
        }

        EscortAdvertisement ad = advertiser.Sign(sessionId, area);
        return TypedResults.Ok(new EscortAdvertisementView(ad.SessionId, ad.AreaCode, ad.UnixMinute, ad.FrameHex, ad.AdvertisementHex, ad.ValidFrom, ad.RefreshAt));
    }

    private static async Task<IResult> ReportEmergencyAsync(
        HttpContext context, AppRequestReader reader, AppRequestBodies bodies, DistrictDirectory districts, EmergencyReports emergencies,
        StreetlightDirectory lights, CancellationToken cancellationToken)
    {
        string idempotencyKey = context.Request.Headers[IdempotencyHeader].ToString();
        if (idempotencyKey.Length is 0 or > MaxIdempotencyKeyLength || !idempotencyKey.All(c => c is > ' ' and < '\u007f'))
        {
            return AppProblems.Invalid(new()
            {
                [IdempotencyHeader] = [$"the {IdempotencyHeader} header is required: 1 to {MaxIdempotencyKeyLength} printable ASCII characters."],
            });
        }

        (byte[]? json, IResult? problem) = await reader.ReadAsync(context.Request, cancellationToken);
        (EmergencyReport? report, problem) = json is null ? (null, problem) : bodies.Emergency(json);
        if (report is null)
        {
            return problem!;
        }

        EmergencyResult result = await emergencies.ReportAsync(ApiKeyAuthentication.ClientOf(context), idempotencyKey, report.Location, report.SessionId, cancellationToken);
        if (result.Outcome == EmergencyOutcome.KeyReused)
        {
            return AppProblems.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
                $"{IdempotencyHeader} was already used for a different emergency report.");
        }

        if (result.Outcome == EmergencyOutcome.Replayed)
        {
            context.Response.Headers["Idempotent-Replayed"] = "true";
        }

        DistrictName district = districts.NameOf(result.Record.DistrictCode);
        NeighbourhoodName? neighbourhood = districts.NeighbourhoodAt(result.Record.Location.Latitude, result.Record.Location.Longitude);
        var view = new EmergencyView(
            result.Record.AlarmKey,
            district.Code,
            district.NameKo,
            district.NameEn,
            neighbourhood?.Code,
            neighbourhood?.NameKo,
            new GeoPointView(result.Record.Location.Latitude, result.Record.Location.Longitude),
            result.Record.Lights.Select(l => LightViewOf(lights, l)).OfType<LightView>().ToList(),
            result.Record.ReportedAt);
        return TypedResults.Created($"/api/alarms/{result.Record.AlarmKey}", view);
    }

    private static LightView? LightViewOf(StreetlightDirectory lights, string id) =>
        DeviceIdText.TryParse(id, out uint lightId) && lights.TryFind(lightId, out Streetlight? light)
            ? new LightView(light!.IdText, light.GatewayId, light.Latitude, light.Longitude)
            : null;

    private static EscortSessionView View(EscortSessionRecord session, EscortOptions options, DistrictDirectory districts) => new(
        DeviceIdText.Format(session.SessionId),
        session.State,
        new GeoPointView(session.Origin.Latitude, session.Origin.Longitude),
        new GeoPointView(session.Destination.Latitude, session.Destination.Longitude),
        AreaView.Of(districts, session.Origin.Latitude, session.Origin.Longitude),
        AreaView.Of(districts, session.Destination.Latitude, session.Destination.Longitude),
        session.Route?.Count ?? 0,
        session.StartedAt,
        session.EndedAt,
        (int)options.SessionTimeout.TotalSeconds);
}
