using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>
/// <c>firmware-state</c>: a device's update state, from the gateway it is bound to (the binding check ran before this
/// handler). Recorded as the device's latest and on its row in the rollout it answers; the rollouts are checked soon after.
/// </summary>
public sealed class FirmwareStateHandler(FirmwareStore store, RolloutService rollouts, TimeProvider time) : GatewayEnvelopeHandler<FirmwareStateEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, FirmwareStateEnvelope report, CancellationToken cancellationToken)
    {
        if (Problem(message.GatewayId, report) is { } problem)
        {
            return problem;
        }

        if (message.Device is not { } device)
        {
            throw new InvalidOperationException("firmware-state reached its handler without the device's record");
        }

        DateTimeOffset now = time.GetUtcNow();
        await store.RecordStateAsync(new DeviceFirmware(
            Protocol.DeviceIdText.Format(device.DeviceId), message.GatewayId, report.RunningVersion, report.Floor, report.Board,
            report.ReleaseId?.ToLowerInvariant(), report.RolloutId, report.State, report.Reason, report.ChunksDone, report.ChunkCount,
            report.At > now ? now : report.At), now, cancellationToken);
        rollouts.Nudge();
        return null;
    }

    private static string? Problem(string gatewayId, FirmwareStateEnvelope report)
    {
        if (report.GatewayId != gatewayId)
        {
            return "firmware-state names another gateway";
        }

        if (UpdateState.Parse(report.State) < 0 || UpdateReason.Parse(report.Reason) < 0)
        {
            return "firmware-state with an unknown state or reason";
        }

        int state = UpdateState.Parse(report.State);
        if (report.ReleaseId is null ? state != UpdateState.Idle && !UpdateState.IsFinal(state, UpdateReason.Parse(report.Reason)) : !IsReleaseId(report.ReleaseId))
        {
            return "firmware-state releaseId is not 16 hex digits (null only when idle or final)";
        }

        if (report.RolloutId is { Length: 0 or > 64 })
        {
            return "firmware-state rolloutId is empty or too long";
        }

        if (report.ChunksDone is < 0 or > ushort.MaxValue || report.ChunkCount is < 0 or > ushort.MaxValue || report.ChunksDone > report.ChunkCount)
        {
            return "firmware-state chunk counts out of range";
        }

        if ((report.RunningVersion is not null && ReleaseVersion.Parse(report.RunningVersion) is null) ||
            (report.Floor is not null && ReleaseVersion.Parse(report.Floor) is null) ||
            report.Board is { Length: 0 or > ReleaseManifest.MaxTextLength })
        {
            return "firmware-state with a malformed version, floor or board";
        }

        return null;
    }

    internal static bool IsReleaseId(string text) => text.Length == 16 && text.All(Uri.IsHexDigit);
}
