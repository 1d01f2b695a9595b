using System.Diagnostics;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// <c>alarm</c>: stores each alarm once by its idempotency key, answers every copy with a receipt after the write is
/// durable, and tells live consoles about alarms they have not seen.
/// </summary>
public sealed partial class AlarmEnvelopeHandler(
    AlarmStore store,
    DistrictDirectory districts,
    AlarmFeed feed,
    RelayStatistics statistics,
    GatewayReplies replies,
    TimeProvider time,
    ILogger<AlarmEnvelopeHandler> logger) : GatewayEnvelopeHandler<AlarmEnvelope>
{
    protected override async Task<string?> HandleAsync(string gatewayId, AlarmEnvelope alarm, CancellationToken cancellationToken)
    {
        using Activity? ingest = CloudBridgeTelemetry.StartIngest(alarm, gatewayId);
        string? problem = Validate(alarm, gatewayId, out AlarmKey key);
        if (problem is not null)
        {
            return problem;
        }

        string keyText = key.ToString();

        // Outside Seoul the alarm is still kept (district "unknown"): routing may fail, the alarm may not.
        string district = districts.Resolve(alarm.Site.Latitude, alarm.Site.Longitude);
        bool isNew = await store.StoreAlarmAsync(alarm, keyText, district, time.GetUtcNow(), cancellationToken);
        if (isNew)
        {
            statistics.AlarmStored();

            // The console hears first: an operator must not wait on the broker's PUBACK for the receipt.
            AlarmRecord? stored = await store.FindAsync(keyText, cancellationToken);
            if (stored is not null)
            {
                feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.NewAlarm, AlarmView.From(stored, districts)));
            }

            LogAlarmStored(logger, keyText, alarm.Event.Code, district, gatewayId);
        }
        else
        {
            statistics.DuplicateSeen();
        }

        // A duplicate means the gateway missed our receipt: answer every copy.
        using Activity? receipt = CloudBridgeTelemetry.Source.StartActivity("alarm.receipt", ActivityKind.Producer);
        await replies.SendAsync(gatewayId, new AlarmReceiptEnvelope(keyText), cancellationToken);
        return null;
    }

    private static string? Validate(AlarmEnvelope alarm, string gatewayId, out AlarmKey key)
    {
        if (!AlarmKey.TryParse(alarm.Key, out key))
        {
            return "alarm key is not DEVICEID:COUNTER";
        }

        if (!DeviceIdText.TryParse(alarm.DeviceId, out uint deviceId) || deviceId != key.DeviceId || alarm.Counter != key.Counter)
        {
            return "alarm key does not match deviceId and counter";
        }

        if (alarm.GatewayId != gatewayId)
        {
            return "alarm gatewayId differs from its topic";
        }

        if (!EnvelopeChecks.IsContactIdEvent(alarm.Event))
        {
            return "alarm event is not a Contact ID event";
        }

        if (!EnvelopeChecks.IsValidSite(alarm.Site))
        {
            return "alarm site has no valid coordinates";
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} (event {Code}) stored for district {District} from gateway {Gateway}")]
    private static partial void LogAlarmStored(ILogger logger, string key, int code, string district, string gateway);
}
