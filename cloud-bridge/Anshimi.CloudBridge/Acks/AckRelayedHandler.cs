using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Acks;

/// <summary><c>ack-relayed</c>: the gateway handed an operator's acknowledgement to the device; the outbox stops re-sending it.</summary>
public sealed class AckRelayedHandler(AlarmStore store, DistrictDirectory districts, AlarmFeed feed, RelayStatistics statistics, TimeProvider time)
    : GatewayEnvelopeHandler<AckRelayedEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, AckRelayedEnvelope relayed, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(relayed.Key, out AlarmKey key) || !AckStageName.TryParse(relayed.Stage, out _))
        {
            return "ack-relayed with bad key or stage";
        }

        string keyText = key.ToString();
        if (!await store.MarkAckRelayedAsync(keyText, relayed.Stage, time.GetUtcNow(), cancellationToken))
        {
            return null;
        }

        statistics.AckRelayed();
        AlarmRecord? alarm = await store.FindAsync(keyText, cancellationToken);
        if (alarm is not null)
        {
            feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.Updated, AlarmView.From(alarm, districts)));
        }

        return null;
    }
}
