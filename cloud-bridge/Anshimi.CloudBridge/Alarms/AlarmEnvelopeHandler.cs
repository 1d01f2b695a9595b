using System.Diagnostics;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// <c>alarm</c>: stores each alarm once by its idempotency key, answers every copy with a receipt after the write is
/// durable, and tells live consoles about alarms they have not seen. What the alarm is comes from the device's own
/// verified frame, where it is from the cloud's binding record — never from the gateway's envelope.
/// </summary>
public sealed partial class AlarmEnvelopeHandler(
    AlarmStore store,
    DistrictDirectory districts,
    AlarmFeed feed,
    RelayStatistics statistics,
    GatewayRefusals refusals,
    GatewayReplies replies,
    TimeProvider time,
    ILogger<AlarmEnvelopeHandler> logger) : GatewayEnvelopeHandler<AlarmEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, AlarmEnvelope alarm, CancellationToken cancellationToken)
    {
        string gatewayId = message.GatewayId;
        using Activity? ingest = CloudBridgeTelemetry.StartIngest(alarm, gatewayId);
        if (message.Device is not { } device || message.VerifiedFrame is not { } frame)
        {
            throw new InvalidOperationException("alarm reached its handler without a verified frame");
        }

        string? problem = Validate(alarm, gatewayId, frame);
        if (problem is not null)
        {
            return problem;
        }

        string key = new AlarmKey(frame.DeviceId, frame.Counter).ToString();
        AlarmEnvelope onRecord = alarm with
        {
            Key = key,
            Event = new ContactIdEvent(frame.EventCode, frame.Qualifier, frame.Zone),
            Profile = device.Profile,
            Site = device.Site,
        };
        DateTimeOffset now = time.GetUtcNow();
        var area = new SiteArea(device.DistrictCode, districts.NeighbourhoodAt(device.Site.Latitude, device.Site.Longitude)?.Code);
        bool isNew = await store.StoreAlarmAsync(onRecord, key, area, now, cancellationToken);
        if (isNew)
        {
            statistics.AlarmStored();

            // The console hears first: an operator must not wait on the broker's PUBACK for the receipt.
            AlarmRecord? stored = await store.FindAsync(key, cancellationToken);
            if (stored is not null)
            {
                feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.NewAlarm, AlarmView.From(stored, districts)));
            }

            LogAlarmStored(logger, key, frame.EventCode, device.DistrictCode, gatewayId);
        }
        else
        {
            statistics.DuplicateSeen();
            await KeepConflictingClaimAsync(gatewayId, onRecord, device, now, cancellationToken);
        }

        // A duplicate means the gateway missed our receipt: answer every copy.
        using Activity? receipt = CloudBridgeTelemetry.Source.StartActivity("alarm.receipt", ActivityKind.Producer);
        await replies.SendAsync(gatewayId, new AlarmReceiptEnvelope(key), cancellationToken);
        return null;
    }

    /// <summary>A copy that differs from the stored alarm is nobody's to drop: kept, flagged on the alarm, and audited.</summary>
    private async Task KeepConflictingClaimAsync(string gatewayId, AlarmEnvelope claim, DeviceOnRecord device, DateTimeOffset now, CancellationToken cancellationToken)
    {
        AlarmRecord? stored = await store.FindAsync(claim.Key, cancellationToken);
        if (stored is null || (stored.Test == claim.Test && string.Equals(stored.FrameHex, claim.FrameHex, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        await store.RecordConflictingClaimAsync(claim.Key, gatewayId, claim.Test, claim.FrameHex, now, cancellationToken);
        await refusals.ReportAsync(gatewayId, new GatewayVerdict.Refused(
            RefusalReason.ConflictingClaim, claim.Key, "second claim differs from the stored alarm (test " + claim.Test + " vs " + stored.Test + "); kept and flagged", device.DistrictCode),
            cancellationToken);
    }

    private static string? Validate(AlarmEnvelope alarm, string gatewayId, Frame frame)
    {
        if (alarm.Counter != frame.Counter)
        {
            return "alarm counter differs from its frame";
        }

        if (alarm.GatewayId != gatewayId)
        {
            return "alarm gatewayId differs from its topic";
        }

        if (alarm.Event is null || alarm.Event.Code != frame.EventCode || alarm.Event.Qualifier != frame.Qualifier || alarm.Event.Zone != frame.Zone)
        {
            return "alarm event differs from its frame";
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} (event {Code}) stored for district {District} from gateway {Gateway}")]
    private static partial void LogAlarmStored(ILogger logger, string key, int code, string district, string gateway);
}
