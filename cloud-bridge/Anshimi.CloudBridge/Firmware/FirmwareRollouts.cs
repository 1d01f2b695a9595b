using System.Globalization;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Bindings;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>What central staff ask for: a release, the canary devices, the district of the second stage, and optionally the thresholds.</summary>
public sealed record RolloutRequest(string? ReleaseId, IReadOnlyList<string>? Canary, string? DistrictCode, double? SuccessThreshold, double? FailureThreshold);

/// <summary>The answer to a rollout action: the rollout, or why not (<see cref="NotFound"/> or a <see cref="Problem"/> for a conflict or bad request).</summary>
public sealed record RolloutOutcome(Rollout? Rollout, bool NotFound, string? Problem, IReadOnlyList<string> Ineligible)
{
    public static RolloutOutcome Done(Rollout rollout, IReadOnlyList<string>? ineligible = null) => new(rollout, false, null, ineligible ?? []);

    public static RolloutOutcome Missing => new(null, true, null, []);

    public static RolloutOutcome Refused(string problem, IReadOnlyList<string>? ineligible = null) => new(null, false, problem, ineligible ?? []);
}

/// <summary>
/// Rollouts of a release through three stages — canary, a district, everything — each offered to the eligible devices
/// through their bound gateways, each gated on the previous stage's success rate, halted automatically when failures
/// pass the threshold, resumable and cancellable (protocol/README.md §11.7). Every step is audited. The state lives in
/// <see cref="FirmwareStore"/>; a transition is a conditional update, so instances sharing a database move a rollout
/// once.
/// </summary>
public sealed partial class FirmwareRollouts(
    FirmwareStore store,
    DeviceBindingStore bindings,
    GatewayReplies replies,
    AuditLog audit,
    DistrictDirectory districts,
    IOptions<FirmwareOptions> options,
    TimeProvider time,
    ILogger<FirmwareRollouts> logger)
{
    public const string StartedAction = "firmware-rollout-started";
    public const string StageStartedAction = "firmware-stage-started";
    public const string StageEndedAction = "firmware-stage-ended";
    public const string HaltedAction = "firmware-rollout-halted";
    public const string ResumedAction = "firmware-rollout-resumed";
    public const string CancelledAction = "firmware-rollout-cancelled";
    public const string CompletedAction = "firmware-rollout-completed";

    /// <summary>The actor of the steps the cloud takes by itself.</summary>
    public const string SystemActor = "system:rollout";

    public const int MaxCanary = 100;

    /// <summary>Profiles updated only at an installer visit: battery bells sleep and speak only BLE (protocol/README.md §11.8; streetlights take the gateway's carousel, §11.9).</summary>
    public static readonly IReadOnlySet<string> InstallerOnlyProfiles = new HashSet<string>(StringComparer.Ordinal) { "battery" };

    /// <summary>The boards of those profiles.</summary>
    public static readonly IReadOnlySet<string> InstallerOnlyBoards = new HashSet<string>(StringComparer.Ordinal) { "battery-bell" };

    private const int MaxDevicesPerOffer = 500;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FirmwareOptions Options => options.Value;

    public async Task<RolloutOutcome> StartAsync(RolloutRequest request, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ReleaseId is null || await store.FindReleaseAsync(request.ReleaseId, cancellationToken) is not { } release)
        {
            return RolloutOutcome.Refused("releaseId names no uploaded release");
        }

        var canary = new List<uint>();
        foreach (string text in request.Canary ?? [])
        {
            if (!DeviceIdText.TryParse(text ?? "", out uint id))
            {
                return RolloutOutcome.Refused("canary device ids are 8 hex digits: " + text);
            }

            canary.Add(id);
        }

        if (canary.Count is < 1 or > MaxCanary)
        {
            return RolloutOutcome.Refused("name 1–" + MaxCanary + " canary devices");
        }

        if (request.DistrictCode is null || districts.All.All(d => d.Code != request.DistrictCode))
        {
            return RolloutOutcome.Refused("districtCode must be a Seoul district (자치구) code such as 11680");
        }

        double success = request.SuccessThreshold ?? Options.SuccessThreshold;
        double failure = request.FailureThreshold ?? Options.FailureThreshold;
        if (success is <= 0 or > 1 || failure is < 0 or >= 1)
        {
            return RolloutOutcome.Refused("successThreshold must be in (0, 1] and failureThreshold in [0, 1)");
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            Dictionary<uint, DeviceBinding> eligible = await EligibleAsync(release, new HashSet<uint>(), cancellationToken);
            List<DeviceBinding> canaryDevices = [.. canary.Distinct().Where(eligible.ContainsKey).Select(id => eligible[id])];
            List<string> ineligible = [.. canary.Distinct().Where(id => !eligible.ContainsKey(id)).Select(DeviceIdText.Format)];
            if (canaryDevices.Count == 0)
            {
                return RolloutOutcome.Refused("no canary device is eligible for this release (bound, its kind and board, a known version it may replace)", ineligible);
            }

            DateTimeOffset now = time.GetUtcNow();
            var rollout = new Rollout(
                "r-" + now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)),
                release.ReleaseId, RolloutState.Running, RolloutStage.Canary, now, [.. canaryDevices.Select(d => DeviceIdText.Format(d.DeviceId))],
                request.DistrictCode, success, failure, null, 0, canaryDevices.Count, actor, now, now);
            await store.AddRolloutAsync(rollout, cancellationToken);
            await AuditAsync(actor, StartedAction, rollout, AuditOutcome.Done,
                "release " + release.ReleaseId + " version " + release.Manifest.Version + "; canary " + string.Join(",", rollout.Canary) +
                (ineligible.Count > 0 ? " (not eligible: " + string.Join(",", ineligible) + ")" : "") + "; district " + rollout.DistrictCode +
                "; success ≥ " + success.ToString(CultureInfo.InvariantCulture) + ", failures ≤ " + failure.ToString(CultureInfo.InvariantCulture),
                cancellationToken);
            await OpenStageAsync(rollout, release, canaryDevices, cancellationToken);
            return RolloutOutcome.Done(rollout, ineligible);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A halted rollout goes on: after a failure halt the stage continues, its failures so far accepted; after a stage ended
    /// below its success rate, the next stage starts. Devices cancelled by the halt are offered again.
    /// </summary>
    public async Task<RolloutOutcome> ResumeAsync(string rolloutId, string actor, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.FindRolloutAsync(rolloutId, cancellationToken) is not { } rollout)
            {
                return RolloutOutcome.Missing;
            }

            if (rollout.State != RolloutState.Halted)
            {
                return RolloutOutcome.Refused("only a halted rollout can be resumed; this one is " + rollout.State);
            }

            StoredRelease release = await ReleaseOfAsync(rollout, cancellationToken);
            DateTimeOffset now = time.GetUtcNow();
            if (rollout.HaltReason == HaltReason.StageBelowThreshold)
            {
                await AuditAsync(actor, ResumedAction, rollout, AuditOutcome.Done, "stage " + RolloutStage.NameOf(rollout.Stage) + " accepted below its success rate", cancellationToken);
                Rollout? next = await AdvanceAsync(rollout with { State = RolloutState.Running }, release, rollout.State, now, actor, cancellationToken);
                return next is null ? RolloutOutcome.Refused("the rollout changed meanwhile") : RolloutOutcome.Done(next);
            }

            await store.ReopenCancelledDevicesAsync(rolloutId, rollout.Stage, now, cancellationToken);
            List<RolloutDevice> stage = await StageDevicesAsync(rollout, cancellationToken);
            Rollout resumed = rollout with
            {
                State = RolloutState.Running,
                HaltReason = null,
                BaselineFailures = stage.Count(d => d.Failed),
                BaselineOpen = stage.Count(d => !d.Final),
                UpdatedAt = now,
            };
            if (!await store.TransitionAsync(resumed, RolloutState.Halted, rollout.Stage, cancellationToken))
            {
                return RolloutOutcome.Refused("the rollout changed meanwhile");
            }

            await AuditAsync(actor, ResumedAction, resumed, AuditOutcome.Done,
                "stage " + RolloutStage.NameOf(rollout.Stage) + ": " + resumed.BaselineFailures + " failures accepted, " + resumed.BaselineOpen + " devices open", cancellationToken);
            await OfferAsync(resumed, release, [.. stage.Where(d => d.State == RolloutDevice.Pending)], now, cancellationToken);
            return RolloutOutcome.Done(resumed);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops a running or halted rollout for good; gateways stop downloads not yet activating.</summary>
    public async Task<RolloutOutcome> CancelAsync(string rolloutId, string actor, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.FindRolloutAsync(rolloutId, cancellationToken) is not { } rollout)
            {
                return RolloutOutcome.Missing;
            }

            if (rollout.State is not (RolloutState.Running or RolloutState.Halted))
            {
                return RolloutOutcome.Refused("a " + rollout.State + " rollout cannot be cancelled");
            }

            Rollout cancelled = rollout with { State = RolloutState.Cancelled, HaltReason = null, UpdatedAt = time.GetUtcNow() };
            if (!await store.TransitionAsync(cancelled, rollout.State, rollout.Stage, cancellationToken))
            {
                return RolloutOutcome.Refused("the rollout changed meanwhile");
            }

            await AuditAsync(actor, CancelledAction, cancelled, AuditOutcome.Done, "in stage " + RolloutStage.NameOf(rollout.Stage), cancellationToken);
            await SendCancelAsync(cancelled, cancellationToken);
            return RolloutOutcome.Done(cancelled);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checks every running rollout: halts, ends stages, starts the next, offers again where no gateway answered.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (Rollout rollout in await store.ListRolloutsAsync(RolloutState.Running, cancellationToken))
            {
                await CheckAsync(rollout, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<List<RolloutDevice>> DevicesAsync(string rolloutId, CancellationToken cancellationToken) => store.ListRolloutDevicesAsync(rolloutId, cancellationToken);

    private async Task CheckAsync(Rollout rollout, CancellationToken cancellationToken)
    {
        StoredRelease release = await ReleaseOfAsync(rollout, cancellationToken);
        List<RolloutDevice> stage = await StageDevicesAsync(rollout, cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        int failures = stage.Count(d => d.Failed) - rollout.BaselineFailures;
        if (rollout.BaselineOpen > 0 && failures > rollout.FailureThreshold * rollout.BaselineOpen)
        {
            await HaltAsync(rollout, HaltReason.FailureThreshold,
                failures + " of " + rollout.BaselineOpen + " devices failed in stage " + RolloutStage.NameOf(rollout.Stage) + " (threshold " +
                rollout.FailureThreshold.ToString(CultureInfo.InvariantCulture) + ")", cancellationToken);
            return;
        }

        bool timedOut = now - rollout.StageStartedAt >= Options.StageTimeout;
        if (stage.All(d => d.Final) || timedOut)
        {
            if (timedOut)
            {
                await store.TimeOutOpenDevicesAsync(rollout.RolloutId, rollout.Stage, now, cancellationToken);
                stage = await StageDevicesAsync(rollout, cancellationToken);
            }

            double rate = stage.Count == 0 ? 1 : (double)stage.Count(d => d.Succeeded) / stage.Count;
            string summary = "stage " + RolloutStage.NameOf(rollout.Stage) + ": " + stage.Count(d => d.Succeeded) + " of " + stage.Count + " confirmed" +
                (timedOut ? ", " + stage.Count(d => d.State == RolloutDevice.TimedOut) + " timed out" : "");
            await AuditAsync(SystemActor, StageEndedAction, rollout, AuditOutcome.Done, summary, cancellationToken);
            if (rate + 1e-9 < rollout.SuccessThreshold)
            {
                await HaltAsync(rollout, HaltReason.StageBelowThreshold, summary + " (success rate " + rate.ToString("0.###", CultureInfo.InvariantCulture) +
                    " below " + rollout.SuccessThreshold.ToString(CultureInfo.InvariantCulture) + ")", cancellationToken);
                return;
            }

            await AdvanceAsync(rollout, release, RolloutState.Running, now, SystemActor, cancellationToken);
            return;
        }

        List<RolloutDevice> unanswered = [.. stage.Where(d => d.State == RolloutDevice.Pending && now - d.OfferedAt >= Options.OfferRetry)];
        if (unanswered.Count > 0)
        {
            await OfferAsync(rollout, release, unanswered, now, cancellationToken);
        }
    }

    /// <summary>Moves from the rollout's stage to the next, or completes it after the last.</summary>
    private async Task<Rollout?> AdvanceAsync(Rollout rollout, StoredRelease release, string fromState, DateTimeOffset now, string actor, CancellationToken cancellationToken)
    {
        if (rollout.Stage == RolloutStage.All)
        {
            Rollout completed = rollout with { State = RolloutState.Completed, HaltReason = null, UpdatedAt = now };
            if (await store.TransitionAsync(completed, fromState, rollout.Stage, cancellationToken))
            {
                await AuditAsync(actor, CompletedAction, completed, AuditOutcome.Done, "every stage ended", cancellationToken);
                return completed;
            }

            return null;
        }

        int nextStage = rollout.Stage + 1;
        HashSet<uint> already = [.. (await store.ListRolloutDevicesAsync(rollout.RolloutId, cancellationToken)).Select(d => Id(d.DeviceId))];
        Dictionary<uint, DeviceBinding> eligible = await EligibleAsync(release, already, cancellationToken);
        List<DeviceBinding> devices = [.. eligible.Values.Where(b => nextStage == RolloutStage.All || b.DistrictCode == rollout.DistrictCode)];
        Rollout next = rollout with
        {
            State = RolloutState.Running,
            Stage = nextStage,
            StageStartedAt = now,
            HaltReason = null,
            BaselineFailures = 0,
            BaselineOpen = devices.Count,
            UpdatedAt = now,
        };
        if (!await store.TransitionAsync(next, fromState, rollout.Stage, cancellationToken))
        {
            return null;
        }

        await OpenStageAsync(next, release, devices, cancellationToken);
        return next;
    }

    private async Task OpenStageAsync(Rollout rollout, StoredRelease release, IReadOnlyList<DeviceBinding> devices, CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        List<RolloutDevice> rows = [.. devices.Select(d => new RolloutDevice(
            rollout.RolloutId, DeviceIdText.Format(d.DeviceId), rollout.Stage, d.GatewayId, RolloutDevice.Pending, null, false, now, now))];
        await store.AddRolloutDevicesAsync(rows, cancellationToken);
        await AuditAsync(SystemActor, StageStartedAction, rollout, AuditOutcome.Done,
            "stage " + RolloutStage.NameOf(rollout.Stage) + ": " + rows.Count + " devices on " + rows.Select(r => r.GatewayId).Distinct().Count() + " gateways",
            cancellationToken);
        await OfferAsync(rollout, release, rows, now, cancellationToken);
    }

    private async Task HaltAsync(Rollout rollout, string reason, string detail, CancellationToken cancellationToken)
    {
        Rollout halted = rollout with { State = RolloutState.Halted, HaltReason = reason, UpdatedAt = time.GetUtcNow() };
        if (!await store.TransitionAsync(halted, RolloutState.Running, rollout.Stage, cancellationToken))
        {
            return;
        }

        LogHalted(logger, rollout.RolloutId, reason, detail);
        await AuditAsync(SystemActor, HaltedAction, halted, reason, detail, cancellationToken);
        if (reason == HaltReason.FailureThreshold)
        {
            await SendCancelAsync(halted, cancellationToken);
        }
    }

    /// <summary>One offer per gateway for as many of its devices as fit an envelope.</summary>
    private async Task OfferAsync(Rollout rollout, StoredRelease release, IReadOnlyList<RolloutDevice> devices, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string signature = Convert.ToHexStringLower(release.Signature);
        foreach (IGrouping<string, RolloutDevice> gateway in devices.GroupBy(d => d.GatewayId))
        {
            foreach (RolloutDevice[] batch in gateway.Chunk(DevicesPerOffer(release.ManifestBytes.Length)))
            {
                var offer = new FirmwareOfferEnvelope(rollout.RolloutId, release.ReleaseId, release.ManifestBytes, signature,
                    [.. batch.Select(d => d.DeviceId)], now + Options.OfferLifetime);
                replies.Send(gateway.Key, offer);
            }
        }

        await store.MarkOfferedAsync(rollout.RolloutId, devices.Select(d => d.DeviceId), now, cancellationToken);
    }

    /// <summary>As many devices as fit one envelope beside the manifest (base64) and the signature, at most 500.</summary>
    internal static int DevicesPerOffer(int manifestBytes)
    {
        const int quotedDeviceId = 11;
        const int otherFields = 1024;
        int room = EnvelopeSerializer.MaxEnvelopeBytes - otherFields - ((manifestBytes + 2) / 3 * 4) - (2 * ReleaseFile.SignatureLength);
        return Math.Clamp(room / quotedDeviceId, 1, MaxDevicesPerOffer);
    }

    private async Task SendCancelAsync(Rollout rollout, CancellationToken cancellationToken)
    {
        List<RolloutDevice> devices = await store.ListRolloutDevicesAsync(rollout.RolloutId, cancellationToken);
        foreach (string gateway in devices.Where(d => !d.Final).Select(d => d.GatewayId).Distinct())
        {
            replies.Send(gateway, new FirmwareCancelEnvelope(rollout.RolloutId, rollout.ReleaseId));
        }
    }

    /// <summary>
    /// Bound devices the release fits and may replace: profile among its kinds and not installer-only (battery bells), the reported board among
    /// its boards, a known running version at least the minimum and below the release, a floor not above it.
    /// </summary>
    private async Task<Dictionary<uint, DeviceBinding>> EligibleAsync(StoredRelease release, IReadOnlySet<uint> excluded, CancellationToken cancellationToken)
    {
        Dictionary<string, DeviceFirmware> firmware = (await store.ListDeviceFirmwareAsync(cancellationToken)).ToDictionary(f => f.DeviceId);
        ReleaseManifest manifest = release.Manifest;
        var eligible = new Dictionary<uint, DeviceBinding>();
        foreach (DeviceBinding binding in await bindings.ListAsync(cancellationToken))
        {
            if (excluded.Contains(binding.DeviceId) || InstallerOnlyProfiles.Contains(binding.Profile) || !manifest.FitsKind(binding.Profile) ||
                !firmware.TryGetValue(DeviceIdText.Format(binding.DeviceId), out DeviceFirmware? reported) || reported.Board is null ||
                InstallerOnlyBoards.Contains(reported.Board) || !manifest.FitsBoard(reported.Board) || ReleaseVersion.Parse(reported.RunningVersion) is not { } running)
            {
                continue;
            }

            ReleaseVersion floor = ReleaseVersion.Parse(reported.Floor) ?? ReleaseVersion.Zero;
            if (running.CompareTo(manifest.MinimumVersion) >= 0 && running.CompareTo(manifest.Version) < 0 && floor.CompareTo(manifest.Version) <= 0)
            {
                eligible[binding.DeviceId] = binding;
            }
        }

        return eligible;
    }

    private async Task<List<RolloutDevice>> StageDevicesAsync(Rollout rollout, CancellationToken cancellationToken) =>
        [.. (await store.ListRolloutDevicesAsync(rollout.RolloutId, cancellationToken)).Where(d => d.Stage == rollout.Stage)];

    private async Task<StoredRelease> ReleaseOfAsync(Rollout rollout, CancellationToken cancellationToken) =>
        await store.FindReleaseAsync(rollout.ReleaseId, cancellationToken)
        ?? throw new InvalidOperationException("rollout " + rollout.RolloutId + " names a release that is not stored");

    private Task AuditAsync(string actor, string action, Rollout rollout, string outcome, string detail, CancellationToken cancellationToken) =>
        audit.AppendAsync(new AuditEntry(actor, action, rollout.RolloutId, rollout.DistrictCode, outcome, detail), cancellationToken);

    private static uint Id(string deviceId) => DeviceIdText.TryParse(deviceId, out uint id) ? id : 0;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {RolloutId} halted ({Reason}): {Detail}")]
    private static partial void LogHalted(ILogger logger, string rolloutId, string reason, string detail);
}
