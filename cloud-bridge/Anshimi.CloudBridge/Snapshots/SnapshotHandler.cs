using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Snapshots;

/// <summary><c>snapshot</c>: stores a doorbell image (durably, once by key) and only then answers with <c>snapshot-receipt</c>.</summary>
public sealed class SnapshotHandler(CloudSnapshotStore snapshots, GatewayReplies replies, TimeProvider time) : GatewayEnvelopeHandler<SnapshotEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, SnapshotEnvelope snapshot, CancellationToken cancellationToken)
    {
        string gatewayId = message.GatewayId;
        string? problem = CloudSnapshotStore.Validate(snapshot, gatewayId);
        if (problem is not null)
        {
            return problem;
        }

        await snapshots.StoreAsync(snapshot, time.GetUtcNow(), cancellationToken);
        replies.Send(gatewayId, new SnapshotReceiptEnvelope(AlarmKey.TryParse(snapshot.Key, out AlarmKey key) ? key.ToString() : snapshot.Key));
        return null;
    }
}
