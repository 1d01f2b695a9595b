using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Firmware;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Anshimi.CloudBridge.Api;

public sealed record ReleaseView(
    string ReleaseId, string Version, string MinimumVersion, string Floor, IReadOnlyList<string> Kinds, IReadOnlyList<string> Boards, int ImageSize,
    int ChunkCount, string KeyId, string UploadedBy, DateTimeOffset UploadedAt);

public sealed record StageView(string Name, int Devices, int Confirmed, int Failed, int Open);

public sealed record RolloutDeviceView(string DeviceId, string Stage, string GatewayId, string State, string? Reason, bool Final);

public sealed record RolloutView(
    string RolloutId, string ReleaseId, string Version, string State, string Stage, string? HaltReason, string DistrictCode, IReadOnlyList<string> Canary,
    double SuccessThreshold, double FailureThreshold, IReadOnlyList<StageView> Stages, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    IReadOnlyList<RolloutDeviceView>? Devices, IReadOnlyList<string>? Ineligible);

/// <summary>A device's firmware as the console shows it: running version and its update state; battery bells are updated at an installer visit.</summary>
public sealed record DeviceFirmwareView(
    string DeviceId, string Profile, string GatewayId, string DistrictCode, string? RunningVersion, string? Floor, string? Board, string State,
    string? Reason, int ChunksDone, int ChunkCount, string? ReleaseId, string? RolloutId, DateTimeOffset? ReportedAt, bool OverTheAir);

/// <summary>
/// Firmware updates (protocol/README.md §11.7): central staff upload signed releases and run rollouts; every operator sees
/// the firmware of the devices of their districts.
/// </summary>
public static class FirmwareEndpoints
{
    /// <summary>A release file is at most the largest image plus its manifest and signature.</summary>
    public const int MaxReleaseBytes = ReleaseManifest.MaxImageSize + ReleaseManifest.MaxLength + 128;

    public static void MapFirmwareApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        RouteGroupBuilder firmware = api.MapGroup("/firmware").WithTags("Firmware");
        firmware.MapGet("/devices", ListDevicesAsync).WithName("ListDeviceFirmware")
            .WithSummary("장치 펌웨어 each device's running version and update state, in the operator's districts.");
        RouteGroupBuilder central = firmware.MapGroup("").RequireAuthorization(OperatorAuthentication.CentralPolicy);
        central.MapPost("/releases", UploadAsync).WithName("UploadRelease").DisableAntiforgery()
            .WithSummary("릴리스 등록: a signed release file (application/octet-stream); verified against Firmware:ReleaseKeys, refused otherwise; audited.");
        central.MapGet("/releases", async (FirmwareStore store, CancellationToken ct) => TypedResults.Ok((await store.ListReleasesAsync(ct)).Select(View).ToList()))
            .WithName("ListReleases");
        central.MapPost("/rollouts", StartAsync).WithName("StartRollout")
            .WithSummary("배포 시작: {releaseId, canary:[deviceId], districtCode, successThreshold?, failureThreshold?}; canary, then the district, then everything.");
        central.MapGet("/rollouts", ListRolloutsAsync).WithName("ListRollouts");
        central.MapGet("/rollouts/{rolloutId}", GetRolloutAsync).WithName("GetRollout");
        central.MapPost("/rollouts/{rolloutId}/resume", (string rolloutId, HttpContext http, FirmwareRollouts rollouts, FirmwareStore store, CancellationToken ct) =>
            ActAsync(rollouts.ResumeAsync(rolloutId, OperatorScope.Of(http.User).UserName, ct), rollouts, store, ct)).WithName("ResumeRollout");
        central.MapPost("/rollouts/{rolloutId}/cancel", (string rolloutId, HttpContext http, FirmwareRollouts rollouts, FirmwareStore store, CancellationToken ct) =>
            ActAsync(rollouts.CancelAsync(rolloutId, OperatorScope.Of(http.User).UserName, ct), rollouts, store, ct)).WithName("CancelRollout");
    }

    private static async Task<Results<Created<ReleaseView>, Ok<ReleaseView>, ProblemHttpResult>> UploadAsync(
        HttpContext http, FirmwareReleases releases, CancellationToken cancellationToken)
    {
        byte[]? body = await ReadBodyAsync(http.Request, cancellationToken);
        string actor = OperatorScope.Of(http.User).UserName;
        ReleaseUpload upload = await releases.UploadAsync(body ?? [], actor, cancellationToken);
        if (upload.Release is not { } release)
        {
            return TypedResults.Problem(title: "릴리스 거부 Release refused", detail: upload.Problem, statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["reason"] = upload.Reason });
        }

        return upload.Added
            ? TypedResults.Created("/api/firmware/releases/" + release.ReleaseId, View(release))
            : TypedResults.Ok(View(release));
    }

    private static async Task<Results<Created<RolloutView>, ProblemHttpResult>> StartAsync(
        RolloutRequest request, HttpContext http, FirmwareRollouts rollouts, FirmwareStore store, CancellationToken cancellationToken)
    {
        RolloutOutcome outcome = await rollouts.StartAsync(request, OperatorScope.Of(http.User).UserName, cancellationToken);
        if (outcome.Rollout is not { } rollout)
        {
            return TypedResults.Problem(title: "배포 거부 Rollout refused", detail: outcome.Problem, statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["ineligible"] = outcome.Ineligible });
        }

        return TypedResults.Created("/api/firmware/rollouts/" + rollout.RolloutId,
            await ViewAsync(rollout, store, rollouts, withDevices: true, cancellationToken) with { Ineligible = outcome.Ineligible });
    }

    private static async Task<Ok<List<RolloutView>>> ListRolloutsAsync(FirmwareStore store, FirmwareRollouts rollouts, CancellationToken cancellationToken)
    {
        var views = new List<RolloutView>();
        foreach (Rollout rollout in await store.ListRolloutsAsync(null, cancellationToken))
        {
            views.Add(await ViewAsync(rollout, store, rollouts, withDevices: false, cancellationToken));
        }

        return TypedResults.Ok(views);
    }

    private static async Task<Results<Ok<RolloutView>, NotFound>> GetRolloutAsync(
        string rolloutId, FirmwareStore store, FirmwareRollouts rollouts, CancellationToken cancellationToken) =>
        await store.FindRolloutAsync(rolloutId, cancellationToken) is { } rollout
            ? TypedResults.Ok(await ViewAsync(rollout, store, rollouts, withDevices: true, cancellationToken))
            : TypedResults.NotFound();

    private static async Task<Results<Ok<RolloutView>, NotFound, ProblemHttpResult>> ActAsync(
        Task<RolloutOutcome> action, FirmwareRollouts rollouts, FirmwareStore store, CancellationToken cancellationToken)
    {
        RolloutOutcome outcome = await action;
        if (outcome.NotFound)
        {
            return TypedResults.NotFound();
        }

        return outcome.Rollout is { } rollout
            ? TypedResults.Ok(await ViewAsync(rollout, store, rollouts, withDevices: true, cancellationToken))
            : TypedResults.Problem(title: "배포 상태 충돌 Conflict", detail: outcome.Problem, statusCode: StatusCodes.Status409Conflict);
    }

    private static async Task<Ok<List<DeviceFirmwareView>>> ListDevicesAsync(
        HttpContext http, DeviceBindingStore bindings, FirmwareStore store, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(http.User);
        Dictionary<string, DeviceFirmware> reported = (await store.ListDeviceFirmwareAsync(cancellationToken)).ToDictionary(f => f.DeviceId);
        var views = new List<DeviceFirmwareView>();
        foreach (DeviceBinding binding in await bindings.ListAsync(cancellationToken))
        {
            if (!scope.CanSee(binding.DistrictCode))
            {
                continue;
            }

            string id = DeviceIdText.Format(binding.DeviceId);
            DeviceFirmware? f = reported.GetValueOrDefault(id);
            views.Add(new DeviceFirmwareView(id, binding.Profile, binding.GatewayId, binding.DistrictCode, f?.RunningVersion, f?.Floor, f?.Board,
                f?.State ?? "unknown", f?.Reason, f?.ChunksDone ?? 0, f?.ChunkCount ?? 0, f?.ReleaseId, f?.RolloutId, f?.ReportedAt,
                !FirmwareRollouts.InstallerOnlyProfiles.Contains(binding.Profile)));
        }

        return TypedResults.Ok(views);
    }

    private static async Task<RolloutView> ViewAsync(Rollout rollout, FirmwareStore store, FirmwareRollouts rollouts, bool withDevices, CancellationToken cancellationToken)
    {
        List<RolloutDevice> devices = await rollouts.DevicesAsync(rollout.RolloutId, cancellationToken);
        StoredRelease? release = await store.FindReleaseAsync(rollout.ReleaseId, cancellationToken);
        List<StageView> stages = [.. Enumerable.Range(RolloutStage.Canary, 3).Select(stage =>
        {
            List<RolloutDevice> inStage = [.. devices.Where(d => d.Stage == stage)];
            return new StageView(RolloutStage.NameOf(stage), inStage.Count, inStage.Count(d => d.Succeeded), inStage.Count(d => d.Failed), inStage.Count(d => !d.Final));
        })];
        return new RolloutView(rollout.RolloutId, rollout.ReleaseId, release?.Manifest.Version.ToString() ?? "", rollout.State, RolloutStage.NameOf(rollout.Stage),
            rollout.HaltReason, rollout.DistrictCode, rollout.Canary, rollout.SuccessThreshold, rollout.FailureThreshold, stages, rollout.CreatedBy,
            rollout.CreatedAt, rollout.UpdatedAt,
            withDevices ? [.. devices.Select(d => new RolloutDeviceView(d.DeviceId, RolloutStage.NameOf(d.Stage), d.GatewayId, d.State, d.Reason, d.Final))] : null,
            null);
    }

    private static ReleaseView View(StoredRelease r) => new(
        r.ReleaseId, r.Manifest.Version.ToString(), r.Manifest.MinimumVersion.ToString(), r.Manifest.Floor.ToString(), r.Manifest.Kinds, r.Manifest.Boards,
        r.Manifest.ImageSize, r.Manifest.ChunkCount, ReleaseManifest.Hex(r.Manifest.KeyId), r.UploadedBy, r.UploadedAt);

    /// <summary>The body up to <see cref="MaxReleaseBytes"/>; null when it is larger.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxReleaseBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
