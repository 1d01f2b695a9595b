using System.Diagnostics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Pipeline;

public enum UplinkOutcome
{
    Accepted,
    Duplicate,
    Heartbeat,
    Rejected,
}

/// <summary>What became of one device uplink; <see cref="Reason"/> names the reject reason.</summary>
public readonly record struct UplinkResult(UplinkOutcome Outcome, string? Reason = null)
{
    public static UplinkResult Reject(string reason) => new(UplinkOutcome.Rejected, reason);

    /// <summary>
    /// Runs an uplink handler; any failure but cancellation is a storage failure, answered by
    /// <paramref name="storeFailed"/>. Nothing was acked, so the device sends again.
    /// </summary>
    public static async Task<UplinkResult> HandleOrStoreFailedAsync(
        Func<CancellationToken, Task<UplinkResult>> handle, Func<Exception, UplinkResult> storeFailed, CancellationToken cancellationToken)
    {
        try
        {
            return await handle(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return storeFailed(ex);
        }
    }
}

/// <summary>
/// Turns device uplinks into stored alarms: authenticates each frame against the registry, refuses
/// replays, stores a new alarm and its outbox row in one transaction, and acks the device only after
/// that commit; the alarm itself goes upstream while that commit is being written, so the cloud does not wait for
/// the gateway's fsync. Frames arrive over MQTT and BLE; callers are served one at a time, so a frame heard on both
/// paths is handled twice in order (stored once, then a duplicate). Never throws on bad input.
/// </summary>
public sealed partial class AlarmPipeline(
    DeviceRegistry registry,
    UplinkAuthenticator authenticator,
    AlarmStore store,
    DeviceDownlink downlink,
    AlarmOutbox outbox,
    DeviceRekey rekey,
    OutboxSignal outboxSignal,
    GatewayMetrics metrics,
    RejectLog rejectLog,
    SupervisionTracker supervision,
    DeviceHealthTracker health,
    TimeProvider time,
    ILogger<AlarmPipeline> logger)
{
    public const string TopicMismatch = "topic_mismatch";
    public const string BadTopic = "bad_topic";
    public const string UnexpectedType = "unexpected_type";
    public const string StoreFailed = "store_failed";
    public const string QueueFull = "queue_full";

    /// <summary>A version-1 frame from a device that has already sent version 2 (protocol/README.md §10).</summary>
    public const string VersionDowngrade = "version_downgrade";

    /// <summary>Dropped before processing: the sending device already had its budget of uplinks waiting.</summary>
    public const string DeviceBudget = "device_budget";

    private const string UplinkSuffix = "/up";

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public async Task<UplinkResult> HandleUplinkAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            return await UplinkResult.HandleOrStoreFailedAsync(
                ct => HandleCoreAsync(topic, payload, ct),
                ex =>
                {
                    LogStoreFailed(logger, topic, ex);
                    metrics.FrameRejected(StoreFailed);
                    return UplinkResult.Reject(StoreFailed);
                },
                cancellationToken);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<UplinkResult> HandleCoreAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        if (!Topics.TryGetDeviceId(topic, out uint topicDevice) || !topic.EndsWith(UplinkSuffix, StringComparison.Ordinal) ||
            topic.Length != Topics.DeviceUplink(topicDevice).Length)
        {
            return Reject(BadTopic, topic);
        }

        if (!authenticator.TryAuthenticate(topic, topicDevice, payload, out Frame? frame, out DeviceEntry? device, out UplinkRejection rejection))
        {
            return Reject(rejection.Reason, rejection.Detail);
        }

        string? refused = await NoteVersionAsync(device, frame, cancellationToken);
        if (refused is not null)
        {
            return Reject(refused, device + " sent version " + frame.Version);
        }

        return frame.Type switch
        {
            FrameType.Alarm => await HandleAlarmAsync(device, frame, payload, cancellationToken),
            FrameType.Heartbeat => HandleHeartbeat(device, frame),
            _ => Reject(UnexpectedType, device + " sent frame type " + (int)frame.Type),
        };
    }

    /// <summary>
    /// Before an authenticated frame is acted on (protocol/README.md §10): a version-2 frame of a newer key epoch moves
    /// the device there durably, and the first version-2 frame records that the device speaks it — its downlinks follow,
    /// and from then on a version-1 frame of that device is refused (<see cref="VersionDowngrade"/>: a recording from
    /// before its update). Each version-1 frame of a device not yet updated is counted. A re-key the gateway asked for is
    /// done, or sent again, by what the frame's epoch shows (<see cref="DeviceRekey"/>). Returns a reject reason or null.
    /// </summary>
    public async Task<string?> NoteVersionAsync(DeviceEntry device, Frame frame, CancellationToken cancellationToken)
    {
        if (frame.Version == FrameCodec.CurrentVersion)
        {
            if (device.FrameVersion == FrameCodecV2.Version)
            {
                return VersionDowngrade;
            }

            metrics.FrameV1();
            return null;
        }

        if (frame.Epoch > device.UplinkEpoch)
        {
            await registry.MoveUplinkEpochAsync(device, frame.Epoch, cancellationToken);
        }
        else
        {
            await registry.RecordFrameVersionAsync(device, FrameCodecV2.Version, cancellationToken);
        }

        await rekey.ObserveAsync(device, frame, cancellationToken);
        return null;
    }

    private async Task<UplinkResult> HandleAlarmAsync(DeviceEntry device, Frame frame, byte[] payload, CancellationToken cancellationToken)
    {
        var key = new AlarmKey(frame.DeviceId, frame.Counter);

        // The alarm's one trace starts here, at the authenticated frame, whichever radio brought it.
        using Activity? receive = GatewayTelemetry.Source.StartActivity("alarm.receive", ActivityKind.Consumer);
        receive?.SetTag("anshimi.alarm.key", key.ToString());
        receive?.SetTag("anshimi.device.profile", device.Profile);
        receive?.SetTag("anshimi.event.code", (int)frame.EventCode);

        // Above the newest accepted counter nothing can be stored yet, so only older counters cost a look-up.
        if (frame.Counter <= device.HighestCounter)
        {
            AlarmRecord record = await store.LookUpAsync(key, cancellationToken);
            if (record == AlarmRecord.Stored)
            {
                // The device missed our ack: say "stored" again, with a counter it has not seen.
                metrics.AlarmDuplicate();
                receive?.SetTag("anshimi.alarm.outcome", "duplicate");
                uint again = await store.TakeDownlinkCounterAsync(device.Id, cancellationToken);
                downlink.Send(device, again, frame.Counter, AckStage.Received);
                return new UplinkResult(UplinkOutcome.Duplicate);
            }

            // An older alarm we never stored: lost in a crash after the broker acked it, while newer
            // ones got through. Within the window it is accepted; refusing it would lose it for good.
            // One whose record has been purged is a replay whatever the window says.
            if (record == AlarmRecord.Purged || !AlarmWindow.Admits(frame.Counter, device.HighestCounter))
            {
                receive?.SetTag("anshimi.alarm.outcome", "replayed");
                return Reject(FrameErrorName.Of(FrameError.Replayed), key.ToString());
            }
        }

        DateTimeOffset now = time.GetUtcNow();
        bool test = device.IsInWalkTest(now);
        uint downlinkCounter;
        using (GatewayTelemetry.Source.StartActivity("alarm.store"))
        {
            // The outbox sends every copy of the alarm as a child of this receipt, across restarts too.
            downlinkCounter = await store.AcceptAsync(
                frame, payload, now, test, receive?.Id,
                outbox.TryPublishNow,
                cancellationToken);
        }

        receive?.SetTag("anshimi.alarm.outcome", "stored");
        device.HighestCounter = Math.Max(device.HighestCounter, frame.Counter);
        device.LastSeen = now;
        supervision.Heard(device);
        health.ObserveEvent(device.Id, frame.EventCode, frame.Qualifier);
        metrics.AlarmStored();

        // Sent or not, the worker looks again: it must sleep until this row's resend, not its idle minute.
        outboxSignal.Notify();
        LogAlarmAccepted(logger, key.ToString(), frame.EventCode, frame.Qualifier, frame.Zone, device.Profile, test);

        // Only now, with the alarm durable, may the device stop resending it. Handed to the downlink, never awaited:
        // a broker that cannot take the ack must not hold up the next alarm, whichever radio brings it.
        using (GatewayTelemetry.Source.StartActivity("alarm.ack", ActivityKind.Producer))
        {
            downlink.Send(device, downlinkCounter, frame.Counter, AckStage.Received);
        }

        return new UplinkResult(UplinkOutcome.Accepted);
    }

    private UplinkResult HandleHeartbeat(DeviceEntry device, Frame frame)
    {
        // Unlike alarms, a heartbeat must be newer than everything accepted from the device.
        if (frame.Counter <= Math.Max(device.HeartbeatCounter, device.HighestCounter))
        {
            return Reject(FrameErrorName.Of(FrameError.Replayed), device + " heartbeat " + frame.Counter);
        }

        registry.RecordHeartbeat(device, frame.Counter, time.GetUtcNow());
        supervision.Heard(device);
        health.ObserveBattery(device.Id, frame.Payload[1]);
        metrics.Heartbeat();
        return new UplinkResult(UplinkOutcome.Heartbeat);
    }

    private UplinkResult Reject(string reason, string detail)
    {
        metrics.FrameRejected(reason);
        rejectLog.Report(reason, detail);
        return UplinkResult.Reject(reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} accepted: event {Code:000} qualifier {Qualifier} zone {Zone:000} ({Profile}), walk test {Test}")]
    private static partial void LogAlarmAccepted(ILogger logger, string key, int code, int qualifier, int zone, string profile, bool test);

    [LoggerMessage(Level = LogLevel.Error, Message = "Uplink on {Topic} could not be stored; the device will resend")]
    private static partial void LogStoreFailed(ILogger logger, string topic, Exception exception);
}
