using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Snapshots;

/// <summary>
/// Doorbell snapshot chunks from the device uplink topics (protocol/README.md §3): authenticated like every
/// frame, checked against the chunk rules, deduplicated, stored durably as they arrive and reassembled per
/// (device, snapshot id). A complete snapshot whose length and SHA-256 match its manifest is stored, acked
/// to the doorbell with stage 4 and, for alarms, queued for the cloud. Ring pictures (status events,
/// qualifier 6) stay at the gateway: a ring is not a call for help, so its image does not leave the home's
/// gateway (DESIGN §4, privacy). Called by the inbox's single consumer; never throws on bad input.
/// </summary>
public sealed partial class SnapshotAssembler(
    UplinkAuthenticator authenticator,
    SnapshotStore store,
    AlarmStore alarms,
    DeviceDownlink downlink,
    SnapshotOutbox outbox,
    SnapshotMetrics metrics,
    GatewayMetrics gatewayMetrics,
    RejectLog rejectLog,
    IOptions<SnapshotOptions> options,
    TimeProvider time,
    ILogger<SnapshotAssembler> logger)
{
    public const string Oversize = "snapshot_oversize";
    public const string BadManifest = "snapshot_bad_manifest";
    public const string BadChunkLength = "snapshot_bad_chunk_length";
    public const string BadSnapshotId = "snapshot_bad_id";
    public const string Inconsistent = "snapshot_inconsistent";
    public const string LengthMismatch = "snapshot_length_mismatch";
    public const string HashMismatch = "snapshot_hash_mismatch";

    private readonly int _maxImageBytes = Math.Min(options.Value.MaxImageBytes, SnapshotOptions.MaxImageBytesCeiling);

    /// <summary>
    /// True when the payload claims to be a snapshot chunk (nothing is trusted yet): by its type nibble in version 1; in
    /// version 2, whose type is sealed, by being an uplink of a chunk's length (protocol/README.md §10).
    /// </summary>
    public static bool IsChunk(byte[] payload) =>
        payload.Length > 0 && (payload[0] >> 4 == FrameCodecV2.Version
            ? FrameCodecV2.ReadDirection(payload, 0) == FrameCodecV2.DirectionOf(FrameType.SnapshotChunk) &&
              payload.Length >= FrameCodecV2.MinChunkFrameLength && payload.Length <= FrameCodecV2.MaxChunkFrameLength
            : (payload[0] & 0x0F) == (int)FrameType.SnapshotChunk && payload[0] >> 4 == FrameCodec.CurrentVersion);

    public Task<UplinkResult> HandleChunkAsync(string topic, byte[] payload, CancellationToken cancellationToken) =>
        UplinkResult.HandleOrStoreFailedAsync(
            ct => HandleCoreAsync(topic, payload, ct),
            ex =>
            {
                LogStoreFailed(logger, topic, ex);
                return Reject(AlarmPipeline.StoreFailed, topic);
            },
            cancellationToken);

    /// <summary>The cloud has stored the snapshot: stop resending it.</summary>
    public async Task ApplyReceiptAsync(SnapshotReceiptEnvelope receipt, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(receipt.Key, out AlarmKey key))
        {
            gatewayMetrics.CommandRejected(OperatorAckRelay.BadKey);
            rejectLog.Report(OperatorAckRelay.BadKey, "snapshot-receipt " + receipt.Key);
            return;
        }

        if (!await store.RecordReceiptAsync(key, time.GetUtcNow(), cancellationToken))
        {
            gatewayMetrics.CommandRejected(OperatorAckRelay.UnknownAlarm);
            rejectLog.Report(OperatorAckRelay.UnknownAlarm, "snapshot-receipt " + key);
            return;
        }

        metrics.ReceiptApplied();
    }

    private async Task<UplinkResult> HandleCoreAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        if (!Topics.TryGetDeviceId(topic, out uint topicDevice) || topic != Topics.DeviceUplink(topicDevice))
        {
            return Reject(AlarmPipeline.BadTopic, topic);
        }

        if (!authenticator.TryAuthenticate(topic, topicDevice, payload, out Frame? frame, out DeviceEntry? device, out UplinkRejection rejection))
        {
            return Reject(rejection.Reason, rejection.Detail);
        }

        uint snapshotId = FramePayloads.SnapshotId(frame);
        var key = new AlarmKey(frame.DeviceId, snapshotId);
        string? malformed = CheckChunk(frame, snapshotId);
        if (malformed is not null)
        {
            return Reject(malformed, key + " chunk " + FramePayloads.ChunkIndex(frame));
        }

        // The chunk window of §10: a resent chunk below the newest counter is fine, a far older one is a replay.
        if (frame.Counter <= device.HighestCounter && !AlarmWindow.AdmitsChunk(frame.Counter, device.HighestCounter))
        {
            return Reject(FrameErrorName.Of(FrameError.Replayed), key + " chunk counter " + frame.Counter);
        }

        DateTimeOffset now = time.GetUtcNow();
        ChunkAddResult added = await store.AddChunkAsync(frame, now, cancellationToken);
        switch (added.Outcome)
        {
            case ChunkOutcome.Inconsistent:
                return Reject(Inconsistent, key.ToString());
            case ChunkOutcome.AlreadyComplete:
                // The doorbell missed the stage-4 ack. It resends from chunk 0, so answering that one (and the
                // last) repeats the ack without one ack per chunk.
                metrics.ChunkDuplicate();
                if (FramePayloads.ChunkIndex(frame) == 0 || FramePayloads.ChunkIndex(frame) == FramePayloads.ChunkCount(frame) - 1)
                {
                    await AckAsync(device, snapshotId, cancellationToken);
                }

                return new UplinkResult(UplinkOutcome.Duplicate);
            case ChunkOutcome.Duplicate:
                metrics.ChunkDuplicate();
                return new UplinkResult(UplinkOutcome.Duplicate);
        }

        device.HighestCounter = Math.Max(device.HighestCounter, frame.Counter);
        device.LastSeen = now;
        metrics.ChunkStored();
        if (added.Held < FramePayloads.ChunkCount(frame))
        {
            return new UplinkResult(UplinkOutcome.Accepted);
        }

        bool forward = frame.Qualifier != ContactIdQualifier.StatusReport;
        string? failure = await store.CompleteAsync(frame.DeviceId, snapshotId, forward, now, cancellationToken);
        if (failure is not null)
        {
            return Reject(failure, key + ": chunks dropped, the doorbell sends the snapshot again");
        }

        metrics.Completed();
        LogCompleted(logger, key.ToString(), frame.EventCode, forward);
        if (forward)
        {
            outbox.Notify();
        }

        await AckAsync(device, snapshotId, cancellationToken);
        return new UplinkResult(UplinkOutcome.Accepted);
    }

    /// <summary>The chunk rules beyond the frame codec's: size limits and a manifest that fits the chunk count.</summary>
    private string? CheckChunk(Frame frame, uint snapshotId)
    {
        int index = FramePayloads.ChunkIndex(frame);
        int count = FramePayloads.ChunkCount(frame);
        int maxCount = 1 + ((_maxImageBytes + FramePayloads.MaxSnapshotDataLength - 1) / FramePayloads.MaxSnapshotDataLength);
        if (count > maxCount)
        {
            return Oversize;
        }

        // The snapshot id is the counter of the event that took the picture, sent before any of its chunks.
        if (snapshotId == 0 || snapshotId >= frame.Counter)
        {
            return BadSnapshotId;
        }

        int dataLength = FramePayloads.ChunkDataLength(frame);
        if (index == 0)
        {
            uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(frame.Payload.AsSpan(FramePayloads.SnapshotHeaderLength));
            if (length > _maxImageBytes)
            {
                return Oversize;
            }

            return length == 0 || 1 + ((length + FramePayloads.MaxSnapshotDataLength - 1) / FramePayloads.MaxSnapshotDataLength) != count ? BadManifest : null;
        }

        // Every data chunk but the last is full; the last's exact length is checked against the manifest on completion.
        return index < count - 1 && dataLength != FramePayloads.MaxSnapshotDataLength ? BadChunkLength : null;
    }

    private async Task AckAsync(DeviceEntry device, uint snapshotId, CancellationToken cancellationToken)
    {
        uint downlinkCounter = await alarms.TakeDownlinkCounterAsync(device.Id, cancellationToken);
        downlink.Send(device, downlinkCounter, snapshotId, AckStage.SnapshotStored);
    }

    private UplinkResult Reject(string reason, string detail)
    {
        metrics.ChunkRejected(reason);
        gatewayMetrics.FrameRejected(reason);
        rejectLog.Report(reason, detail);
        return UplinkResult.Reject(reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot {Key} stored (event {Code:000}); forwarded upstream: {Forward}")]
    private static partial void LogCompleted(ILogger logger, string key, int code, bool forward);

    [LoggerMessage(Level = LogLevel.Error, Message = "Snapshot chunk on {Topic} could not be stored; the doorbell will resend")]
    private static partial void LogStoreFailed(ILogger logger, string topic, Exception exception);
}
