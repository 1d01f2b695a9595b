using System.Diagnostics;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// <c>alarm</c>: stores each alarm once by its idempotency key, answers every copy with a receipt after the write is
/// durable, and tells live consoles about alarms they have not seen while that write is being made (a failed commit makes
/// every console reload its list from the store). What the alarm is comes from the device's own
/// verified frame, where it is from the cloud's binding record — never from the gateway's envelope. Alarms that were
/// waiting together are committed in one transaction, in the order they arrived, before the first of their receipts.
/// </summary>
public sealed partial class AlarmEnvelopeHandler(
    AlarmStore store,
    DistrictDirectory districts,
    AlarmFeed feed,
    RelayStatistics statistics,
    GatewayRefusals refusals,
    GatewayReplies replies,
    TimeProvider time,
    ILogger<AlarmEnvelopeHandler> logger) : GatewayEnvelopeHandler<AlarmEnvelope>, IGatewayEnvelopeBurstHandler
{
    public async Task<IReadOnlyList<string?>> HandleBurstAsync(IReadOnlyList<GatewayEnvelope> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var problems = new string?[messages.Count];
        var accepted = new List<Accepted>(messages.Count);
        Activity? outer = Activity.Current;
        try
        {
            for (int i = 0; i < messages.Count; i++)
            {
                GatewayEnvelope message = messages[i];
                var alarm = (AlarmEnvelope)message.Envelope;
                if (message.Device is not { } device || message.VerifiedFrame is not { } frame)
                {
                    throw new InvalidOperationException("alarm reached its handler without a verified frame");
                }

                problems[i] = Validate(alarm, message.GatewayId, frame);
                if (problems[i] is null)
                {
                    string key = new AlarmKey(frame.DeviceId, frame.Counter).ToString();
                    AlarmEnvelope onRecord = alarm with
                    {
                        Key = key,
                        Event = new ContactIdEvent(frame.EventCode, frame.Qualifier, frame.Zone),
                        Profile = device.Profile,
                        Site = device.Site,
                    };
                    var area = new SiteArea(device.DistrictCode, districts.NeighbourhoodAt(device.Site.Latitude, device.Site.Longitude)?.Code);
                    accepted.Add(new Accepted(message.GatewayId, device, new NewAlarm(onRecord, key, area), CloudBridgeTelemetry.StartIngest(alarm, message.GatewayId)));

                    // Each alarm's span belongs to its own trace, never under the one before it.
                    Activity.Current = outer;
                }
            }

            if (accepted.Count > 0)
            {
                await StoreAndAnswerAsync(accepted, cancellationToken);
            }
        }
        finally
        {
            foreach (Accepted alarm in accepted)
            {
                alarm.Ingest?.Dispose();
            }

            Activity.Current = outer;
        }

        return problems;
    }

    protected override async Task<string?> HandleAsync(GatewayEnvelope message, AlarmEnvelope alarm, CancellationToken cancellationToken) =>
        (await HandleBurstAsync([message], cancellationToken))[0];

    private async Task StoreAndAnswerAsync(List<Accepted> accepted, CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();

        // One transaction for the burst: its span goes under the first alarm's.
        Activity.Current = accepted[0].Ingest;
        bool announced = false;
        IReadOnlyList<AlarmRecord?> stored;
        try
        {
            // The consoles hear of the new alarms in the order they arrived while the commit is being written: an operator
            // waits neither on the disk nor on a receipt.
            stored = await store.StoreAlarmsAsync([.. accepted.Select(a => a.Alarm)], now, (i, record) =>
            {
                announced = true;
                Activity? storing = Activity.Current;
                Activity.Current = accepted[i].Ingest;
                feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.NewAlarm, AlarmView.From(record, districts)));
                Activity.Current = storing;
            }, cancellationToken);
        }
        catch when (announced)
        {
            // Consoles may show an alarm that is not stored: each reloads its list from the store, which is the truth.
            // The gateway, never receipted, sends the alarm again and it is announced when it is stored.
            feed.CutOffAll();
            LogAnnouncedNotStored(logger, accepted.Count);
            throw;
        }

        for (int i = 0; i < accepted.Count; i++)
        {
            if (stored[i] is { } record)
            {
                statistics.AlarmStored();
                LogAlarmStored(logger, record.Key, record.EventCode, record.DistrictCode, record.GatewayId);
            }
        }

        for (int i = 0; i < accepted.Count; i++)
        {
            if (stored[i] is null)
            {
                statistics.DuplicateSeen();
                await KeepConflictingClaimAsync(accepted[i], now, cancellationToken);
            }
        }

        // A duplicate means the gateway missed our receipt: answer every copy.
        foreach (Accepted alarm in accepted)
        {
            using Activity? receipt = alarm.Ingest is { } ingest
                ? CloudBridgeTelemetry.Source.StartActivity("alarm.receipt", ActivityKind.Producer, ingest.Context)
                : null;
            replies.Send(alarm.GatewayId, new AlarmReceiptEnvelope(alarm.Alarm.Key));
        }
    }

    /// <summary>A copy that differs from the stored alarm is nobody's to drop: kept, flagged on the alarm, and audited.</summary>
    private async Task KeepConflictingClaimAsync(Accepted copy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        AlarmEnvelope claim = copy.Alarm.Alarm;
        AlarmRecord? stored = await store.FindAsync(claim.Key, cancellationToken);
        if (stored is null || (stored.Test == claim.Test && string.Equals(stored.FrameHex, claim.FrameHex, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        await store.RecordConflictingClaimAsync(claim.Key, copy.GatewayId, claim.Test, claim.FrameHex, now, cancellationToken);
        await refusals.ReportAsync(copy.GatewayId, new GatewayVerdict.Refused(
            RefusalReason.ConflictingClaim, claim.Key, "second claim differs from the stored alarm (test " + claim.Test + " vs " + stored.Test + "); kept and flagged", copy.Device.DistrictCode),
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A burst of {Count} alarms announced to the consoles failed to commit; every console reloads its alarms from the store")]
    private static partial void LogAnnouncedNotStored(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} (event {Code}) stored for district {District} from gateway {Gateway}")]
    private static partial void LogAlarmStored(ILogger logger, string key, int code, string district, string gateway);

    /// <summary>An alarm of the burst that passed its checks, with the span of its ingest.</summary>
    private sealed record Accepted(string GatewayId, DeviceOnRecord Device, NewAlarm Alarm, Activity? Ingest);
}
