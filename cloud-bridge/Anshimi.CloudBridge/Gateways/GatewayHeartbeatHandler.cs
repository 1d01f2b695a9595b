using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Gateways;

/// <summary><c>gateway-heartbeat</c>: records when each gateway was last seen and its outbox depth.</summary>
public sealed class GatewayHeartbeatHandler(AlarmStore store, RelayStatistics statistics, TimeProvider time) : GatewayEnvelopeHandler<GatewayHeartbeatEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, GatewayHeartbeatEnvelope heartbeat, CancellationToken cancellationToken)
    {
        string gatewayId = message.GatewayId;
        if (heartbeat.GatewayId != gatewayId)
        {
            return "heartbeat gatewayId differs from its topic";
        }

        await store.RecordHeartbeatAsync(gatewayId, time.GetUtcNow(), heartbeat.OutboxDepth, cancellationToken);
        statistics.HeartbeatSeen();
        return null;
    }
}
