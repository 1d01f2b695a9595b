using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

public sealed record BindingView(string DeviceId, string GatewayId, string Profile, string SiteKind, string Address, double Lat, double Lon, string DistrictCode, DateTimeOffset BoundAt);

public sealed record RehomeRequest(string? GatewayId, string? Reason);

/// <summary>
/// Central staff only: which gateway speaks for each device, and the one way to move a device to another gateway
/// (재배정 re-home, e.g. after its box was replaced). Every re-home is audited with its reason.
/// </summary>
public static class BindingEndpoints
{
    public const string RehomeAction = "device-rehomed";

    public static void MapBindingApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        RouteGroupBuilder bindings = api.MapGroup("/bindings").WithTags("Bindings").RequireAuthorization(OperatorAuthentication.CentralPolicy);
        bindings.MapGet("/", async (DeviceBindingStore store, CancellationToken cancellationToken) =>
                TypedResults.Ok((await store.ListAsync(cancellationToken)).Select(View).ToList()))
            .WithName("ListBindings").WithSummary("기기 ↔ 게이트웨이 배정 every device's gateway, site and district on the cloud's record.");
        bindings.MapPost("/{deviceId}/rehome", RehomeAsync).WithName("RehomeDevice")
            .WithSummary("재배정 re-home: from now on only the named gateway speaks for the device; audited with the reason.");
    }

    private static async Task<Results<Ok<BindingView>, ProblemHttpResult>> RehomeAsync(
        string deviceId, RehomeRequest request, HttpContext http, DeviceBindingStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!DeviceIdText.TryParse(deviceId, out uint id))
        {
            return Problem(StatusCodes.Status400BadRequest, "기기 번호 오류 Invalid device id", "deviceId must be 8 hex digits.");
        }

        if (string.IsNullOrWhiteSpace(request.GatewayId) || !IsGatewayId(request.GatewayId) || string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > 200)
        {
            return Problem(StatusCodes.Status400BadRequest, "요청 오류 Invalid request", "gatewayId (a valid gateway id) and reason (1–200 characters) are required.");
        }

        DeviceBinding? previous = await store.RehomeAsync(id, request.GatewayId, cancellationToken);
        if (previous is null)
        {
            return Problem(StatusCodes.Status404NotFound, "배정 없음 Not bound", "device " + DeviceIdText.Format(id) + " is bound to no gateway.");
        }

        await audit.AppendAsync(new AuditEntry(
            OperatorScope.Of(http.User).UserName, RehomeAction, DeviceIdText.Format(id), previous.DistrictCode, AuditOutcome.Done,
            previous.GatewayId + " -> " + request.GatewayId + ": " + request.Reason), cancellationToken);
        return TypedResults.Ok(View(previous with { GatewayId = request.GatewayId }));
    }

    /// <summary>Usable as the one level of <c>anshimi/v1/gw/{id}/…</c>: no wildcards, no separators.</summary>
    private static bool IsGatewayId(string id) =>
        id.Length <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(title: title, detail: detail, statusCode: status);

    private static BindingView View(DeviceBinding b) => new(
        DeviceIdText.Format(b.DeviceId), b.GatewayId, b.Profile, b.Site.Kind, b.Site.Address, b.Site.Latitude, b.Site.Longitude, b.DistrictCode, b.BoundAt);
}
