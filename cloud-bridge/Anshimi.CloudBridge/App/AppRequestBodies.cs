using System.Text.Json;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Protocol;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.App;

/// <summary>A start of return-home monitoring whose points all lie in Seoul.</summary>
public sealed record EscortStart(GeoPoint Origin, GeoPoint Destination, IReadOnlyList<GeoPoint>? Route);

/// <summary>An emergency report at a point in Seoul, during an escort session or not.</summary>
public sealed record EmergencyReport(GeoPoint Location, uint? SessionId);

/// <summary>
/// Parses and checks the body of each app request, apart from HTTP: the endpoints call it on the bytes
/// <see cref="AppRequestReader"/> read, the fuzz targets on arbitrary bytes. Each call gives either the checked
/// value or the problem+json to answer (400 malformed or empty, 400 validation with every field's problem);
/// it never throws on the bytes.
/// </summary>
public sealed class AppRequestBodies
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        MaxDepth = 16,
    };

    private readonly DistrictDirectory _districts;
    private readonly EscortOptions _options;
    private readonly TimeProvider _time;

    public AppRequestBodies(DistrictDirectory districts, IOptions<EscortOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _districts = districts;
        _options = options.Value;
        _time = time;
    }

    public (EscortStart? Start, IResult? Problem) StartEscort(ReadOnlySpan<byte> json)
    {
        (StartEscortRequest? body, IResult? problem) = Parse<StartEscortRequest>(json);
        if (body is null)
        {
            return (null, problem);
        }

        var validation = new AppValidation(_districts);
        GeoPoint? origin = validation.InSeoul("origin", body.Origin);
        GeoPoint? destination = validation.InSeoul("destination", body.Destination);
        List<GeoPoint>? route = null;
        if (body.Route is not null)
        {
            int max = _options.MaxRoutePoints;
            if (body.Route.Count is < 2 || body.Route.Count > max)
            {
                validation.Fail("route", $"a route has 2 to {max} points.");
            }
            else
            {
                route = [];
                for (int i = 0; i < body.Route.Count && validation.IsValid; i++)
                {
                    if (validation.InSeoul($"route[{i}]", body.Route[i]) is { } point)
                    {
                        route.Add(point);
                    }
                }
            }
        }

        return validation.IsValid
            ? (new EscortStart(origin!.Value, destination!.Value, route), null)
            : (null, AppProblems.Invalid(validation.Errors));
    }

    public (IReadOnlyList<LocationFix>? Fixes, IResult? Problem) Locations(ReadOnlySpan<byte> json)
    {
        (LocationBatchRequest? body, IResult? problem) = Parse<LocationBatchRequest>(json);
        if (body is null)
        {
            return (null, problem);
        }

        var validation = new AppValidation(_districts);
        var fixes = new List<LocationFix>();
        int max = _options.MaxLocationsPerUpdate;
        DateTimeOffset latest = _time.GetUtcNow().AddMinutes(1);
        if (body.Locations is null || body.Locations.Count == 0 || body.Locations.Count > max)
        {
            validation.Fail("locations", $"1 to {max} locations are required.");
        }
        else
        {
            for (int i = 0; i < body.Locations.Count; i++)
            {
                LocationUpdateDto? fix = body.Locations[i];
                GeoPoint? point = validation.InSeoul($"locations[{i}]", fix?.Lat, fix?.Lon);
                if (fix?.At is not { } at)
                {
                    validation.Fail($"locations[{i}].at", "the fix time is required.");
                }
                else if (at > latest)
                {
                    validation.Fail($"locations[{i}].at", "the fix time is in the future.");
                }
                else if (point is { } p)
                {
                    fixes.Add(new LocationFix(p.Latitude, p.Longitude, at));
                }
            }
        }

        return validation.IsValid ? (fixes, null) : (null, AppProblems.Invalid(validation.Errors));
    }

    /// <summary>The reason an escort ends: <see cref="EscortState.Arrived"/> or <see cref="EscortState.Cancelled"/>.</summary>
    public static (string? Reason, IResult? Problem) EndEscort(ReadOnlySpan<byte> json)
    {
        (EndEscortRequest? body, IResult? problem) = Parse<EndEscortRequest>(json);
        if (body is null)
        {
            return (null, problem);
        }

        return body.Reason is EscortState.Arrived or EscortState.Cancelled
            ? (body.Reason, null)
            : (null, AppProblems.Invalid(new() { ["reason"] = ["reason must be 'arrived' or 'cancelled'."] }));
    }

    public (EmergencyReport? Report, IResult? Problem) Emergency(ReadOnlySpan<byte> json)
    {
        (EmergencyRequest? body, IResult? problem) = Parse<EmergencyRequest>(json);
        if (body is null)
        {
            return (null, problem);
        }

        var validation = new AppValidation(_districts);
        GeoPoint? location = validation.InSeoul("location", body.Location);
        uint? sessionId = null;
        if (body.SessionId is not null)
        {
            if (TryParseSession(body.SessionId, out uint parsed))
            {
                sessionId = parsed;
            }
            else
            {
                validation.Fail("sessionId", "a session id is 8 hex digits.");
            }
        }

        return validation.IsValid
            ? (new EmergencyReport(location!.Value, sessionId), null)
            : (null, AppProblems.Invalid(validation.Errors));
    }

    /// <summary>An escort session id as the app writes it: exactly 8 hex digits, not zero.</summary>
    public static bool TryParseSession(string id, out uint sessionId) =>
        DeviceIdText.TryParse(id, out sessionId) && id.Length == 8 && sessionId != 0;

    private static (T? Body, IResult? Problem) Parse<T>(ReadOnlySpan<byte> json)
        where T : class
    {
        try
        {
            T? value = JsonSerializer.Deserialize<T>(json, Json);
            return value is null
                ? (null, AppProblems.Problem(StatusCodes.Status400BadRequest, "Empty body", "The body must be a JSON object."))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, AppProblems.Problem(StatusCodes.Status400BadRequest, "Malformed JSON", ex.Message));
        }
    }
}
