using Anshimi.Protocol.Ota;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>A release the cloud verified and keeps: its manifest exactly as signed, and the signature.</summary>
public sealed record StoredRelease(string ReleaseId, ReleaseManifest Manifest, byte[] ManifestBytes, byte[] Signature, string UploadedBy, DateTimeOffset UploadedAt);

/// <summary>Where a rollout stands (protocol/README.md §11.7).</summary>
public static class RolloutState
{
    public const string Running = "running";
    public const string Halted = "halted";
    public const string Cancelled = "cancelled";
    public const string Completed = "completed";
}

/// <summary>The three stages, in order.</summary>
public static class RolloutStage
{
    public const int Canary = 0;
    public const int District = 1;
    public const int All = 2;

    public static string NameOf(int stage) => stage switch
    {
        Canary => "canary",
        District => "district",
        _ => "all",
    };
}

/// <summary>Why a rollout halted by itself.</summary>
public static class HaltReason
{
    /// <summary>Failures in the running stage passed the rollout's failure threshold.</summary>
    public const string FailureThreshold = "failure_threshold";

    /// <summary>A stage ended with a success rate below the rollout's threshold.</summary>
    public const string StageBelowThreshold = "stage_below_threshold";
}

/// <summary>
/// One rollout. <see cref="BaselineFailures"/> and <see cref="BaselineOpen"/> are what the failure threshold counts
/// from: the stage's start, or the last resume (failures accepted then, devices still open then).
/// </summary>
public sealed record Rollout(
    string RolloutId,
    string ReleaseId,
    string State,
    int Stage,
    DateTimeOffset StageStartedAt,
    IReadOnlyList<string> Canary,
    string DistrictCode,
    double SuccessThreshold,
    double FailureThreshold,
    string? HaltReason,
    int BaselineFailures,
    int BaselineOpen,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A device in a rollout: <c>pending</c> until its gateway answers the offer, then the device's last state.</summary>
public sealed record RolloutDevice(
    string RolloutId, string DeviceId, int Stage, string GatewayId, string State, string? Reason, bool Final, DateTimeOffset OfferedAt, DateTimeOffset UpdatedAt)
{
    public const string Pending = "pending";

    /// <summary>The cloud's own final state for a device that was not final when its stage's time ran out.</summary>
    public const string TimedOut = "timed-out";

    public bool Succeeded => State == "confirmed";

    public bool Failed => Final && !Succeeded;

    /// <summary>True when nothing more happens for this release at the device (protocol/README.md §11.5).</summary>
    public static bool IsFinal(string state, string? reason) =>
        state == TimedOut || UpdateState.IsFinal(UpdateState.Parse(state), UpdateReason.Parse(reason));
}

/// <summary>A device's latest update state as its gateway reported it.</summary>
public sealed record DeviceFirmware(
    string DeviceId,
    string GatewayId,
    string? RunningVersion,
    string? Floor,
    string? Board,
    string? ReleaseId,
    string? RolloutId,
    string State,
    string? Reason,
    int ChunksDone,
    int ChunkCount,
    DateTimeOffset ReportedAt);
