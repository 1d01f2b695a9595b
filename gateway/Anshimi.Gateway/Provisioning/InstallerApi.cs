using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Anshimi.Gateway.Firmware;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

/// <summary>Code: the scanned label (QR content) or the typed claim code; Key: the typed factory key when Code is typed.</summary>
public sealed record ClaimRequest(string? Code, string? Key = null);

public sealed record SiteRequest(string? Kind, string? Address, string? Latitude, string? Longitude, string? Reference);

public sealed record ReplaceRequest(string? NewDeviceId);

public sealed record UnclaimedDevice(string DeviceId, string Profile, string FirmwareVersion, DateTimeOffset HeardAt);

public sealed record WalkTestAlarm(uint Counter, int EventCode, DateTimeOffset At, bool Test);

public sealed record WalkTestStatus(string DeviceId, bool Running, DateTimeOffset? Until, IReadOnlyList<WalkTestAlarm> Alarms);

public sealed record ApiError(string Error, string Message, IReadOnlyList<object>? Problems = null);

/// <summary>
/// The local installer API under <c>/admin/v1</c>, used by <c>anshimi-installer</c>: loopback
/// callers only, with the bearer token from the root-only token file.
/// </summary>
public static class InstallerApi
{
    public const string Prefix = "/admin/v1";

    public static IEndpointRouteBuilder MapInstallerApi(this IEndpointRouteBuilder endpoints)
    {
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<ProvisioningOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        RouteGroupBuilder api = endpoints.MapGroup(Prefix).AddEndpointFilter(Authorize);
        api.MapGet("/unclaimed", (HelloBoard board) =>
            board.Current().Select(s => new UnclaimedDevice(DeviceIdText.Format(s.Hello.DeviceId), s.Hello.Profile, s.Hello.FirmwareVersion, s.HeardAt)));
        api.MapGet("/devices", async (DeviceLifecycle lifecycle, CancellationToken ct) => await lifecycle.ListAsync(ct));
        api.MapGet("/firmware", async (FirmwareDistribution firmware, CancellationToken ct) => await firmware.StatesAsync(ct));
        api.MapGet("/devices/{id}", (string id, Commissioning c, CancellationToken ct) => Run(id, async d => Results.Ok(await Found(c, d, ct))));
        api.MapPost("/devices/{id}/claim", (string id, HttpRequest request, Commissioning c, CancellationToken ct) => Run(id, async d =>
        {
            ClaimRequest body = await BodyAsync<ClaimRequest>(request, ct);
            return Results.Ok(await c.ClaimAsync(d, body.Code ?? "", body.Key, ct));
        }));
        api.MapPut("/devices/{id}/site", (string id, HttpRequest request, Commissioning c, CancellationToken ct) => Run(id, async d =>
        {
            SiteRequest body = await BodyAsync<SiteRequest>(request, ct);
            return Results.Ok(await c.BindSiteAsync(d, body.Kind, body.Address, body.Latitude, body.Longitude, body.Reference, ct));
        }));
        api.MapPost("/devices/{id}/walk-test", (string id, Commissioning c, TimeProvider time, CancellationToken ct) => Run(id, async d =>
        {
            DateTimeOffset since = time.GetUtcNow();
            DateTimeOffset until = c.StartWalkTest(d, await Found(c, d, ct));
            return Results.Ok(new { since, until });
        }));
        api.MapGet("/devices/{id}/walk-test", (string id, string? since, Commissioning c, DeviceRegistry registry, DeviceLifecycle lifecycle, TimeProvider time, CancellationToken ct) => Run(id, async d =>
        {
            DateTimeOffset from = since is null ? time.GetUtcNow().AddHours(-1) : Since(since);
            DeviceRow row = await Found(c, d, ct);
            DateTimeOffset? until = registry.TryGet(d, out DeviceEntry entry) ? entry.WalkTestUntil : null;
            var alarms = (await lifecycle.TestAlarmsSinceAsync(d, from, ct)).Select(a => new WalkTestAlarm(a.Counter, a.EventCode, a.At, true)).ToList();
            return Results.Ok(new WalkTestStatus(row.DeviceId, until > time.GetUtcNow(), until, alarms));
        }));
        api.MapDelete("/devices/{id}/walk-test", (string id, Commissioning c) => Run(id, d =>
        {
            c.EndWalkTest(d);
            return Task.FromResult(Results.NoContent());
        }));
        api.MapPost("/devices/{id}/replace", (string id, HttpRequest request, Commissioning c, CancellationToken ct) => Run(id, async d =>
        {
            ReplaceRequest body = await BodyAsync<ReplaceRequest>(request, ct);
            if (!DeviceIdText.TryParse(body.NewDeviceId ?? "", out uint newId))
            {
                throw new CommissioningException(400, "bad_device_id", "newDeviceId must be 8 hex digits");
            }

            return Results.Ok(await c.ReplaceAsync(d, newId, ct));
        }));
        api.MapPost("/devices/{id}/rekey", (string id, DeviceRekey rekey, CancellationToken ct) => Run(id, async d =>
            Results.Ok(new { deviceId = DeviceIdText.Format(d), epoch = await rekey.RequestAsync(d, ct) })));
        api.MapPost("/devices/{id}/decommission", (string id, Commissioning c, CancellationToken ct) => Run(id, async d => Results.Ok(await c.DecommissionAsync(d, ct))));
        api.MapGet("/registry.csv", async (DeviceLifecycle lifecycle, SiteRules rules, CancellationToken ct) =>
            Results.Text(
                RegistryCsv.Export((await lifecycle.ListAsync(ct)).Select(r => r with { Neighbourhood = rules.NeighbourhoodAt(r.Site.Latitude, r.Site.Longitude) })),
                "text/csv; charset=utf-8",
                Encoding.UTF8));
        api.MapPost("/registry.csv", async (HttpRequest request, Commissioning c, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            string text = await reader.ReadToEndAsync(ct);
            return await Run("00000000", async _ => Results.Ok(new { imported = await c.ImportAsync(text, ct) }));
        });
        return endpoints;
    }

    private static async ValueTask<object?> Authorize(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        HttpContext http = context.HttpContext;
        IPAddress? remote = http.Connection.RemoteIpAddress;

        // Loopback only, even if the service is ever bound wider; a unix socket has no address.
        if (remote is not null && !IPAddress.IsLoopback(remote))
        {
            return Results.Json(new ApiError("forbidden", "the installer API answers local callers only"), statusCode: StatusCodes.Status403Forbidden);
        }

        if (!http.RequestServices.GetRequiredService<AdminToken>().Accepts(http.Request.Headers.Authorization))
        {
            return Results.Json(new ApiError("unauthorized", "missing or wrong admin token"), statusCode: StatusCodes.Status401Unauthorized);
        }

        return await next(context);
    }

    /// <summary>
    /// The request's JSON body. Read here rather than bound by the framework, whose refusal would be an empty
    /// 400: a missing or malformed body is the installer's error and is named like every other.
    /// </summary>
    private static async Task<T> BodyAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            throw new CommissioningException(400, "bad_request", "the request body must be JSON (Content-Type: application/json)");
        }

        try
        {
            return await request.ReadFromJsonAsync<T>(ct) ?? throw new CommissioningException(400, "bad_request", "the request body must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CommissioningException(400, "bad_request", "the request body is not the JSON this request takes" + (ex.Path is null ? "" : " (at " + ex.Path + ")"));
        }
    }

    /// <summary>A walk-test window's start: milliseconds since 1970 (UTC).</summary>
    private static DateTimeOffset Since(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : throw new CommissioningException(400, "bad_since", "since must be milliseconds since 1970-01-01 UTC: " + text);

    private static async Task<DeviceRow> Found(Commissioning commissioning, uint deviceId, CancellationToken ct) =>
        await commissioning.FindAsync(deviceId, ct)
        ?? throw new CommissioningException(404, "not_found", "device " + DeviceIdText.Format(deviceId) + " is not in the registry");

    /// <summary>Parses the device id and turns the installer-facing exceptions into answers with a stable error code.</summary>
    private static async Task<IResult> Run(string id, Func<uint, Task<IResult>> action)
    {
        if (!DeviceIdText.TryParse(id, out uint deviceId))
        {
            return Results.Json(new ApiError("bad_device_id", "device id must be 8 hex digits: " + id), statusCode: StatusCodes.Status400BadRequest);
        }

        try
        {
            return await action(deviceId);
        }
        catch (CommissioningException ex)
        {
            return Results.Json(new ApiError(ex.Code, ex.Message), statusCode: ex.Status);
        }
        catch (SiteException ex)
        {
            return Results.Json(new ApiError("bad_site", ex.Message, [.. ex.Problems]), statusCode: StatusCodes.Status400BadRequest);
        }
        catch (CsvImportException ex)
        {
            return Results.Json(new ApiError("csv_refused", ex.Message, [.. ex.Problems]), statusCode: StatusCodes.Status400BadRequest);
        }
    }
}
