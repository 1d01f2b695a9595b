using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Escorts;

/// <summary><c>escort-keys-receipt</c>: the gateway took a rotation's escort keys; they are not re-sent until they change.</summary>
public sealed class EscortKeysReceiptHandler(EscortKeyDeliveryStore deliveries, TimeProvider time) : GatewayEnvelopeHandler<EscortKeysReceiptEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, EscortKeysReceiptEnvelope receipt, CancellationToken cancellationToken)
    {
        if (receipt.GatewayId != message.GatewayId)
        {
            return "escort-keys-receipt gatewayId differs from its topic";
        }

        // A second copy of the receipt finds the row receipted already: nothing to do, not an error.
        await deliveries.ReceiptAsync(message.GatewayId, receipt.Rotation, time.GetUtcNow(), cancellationToken);
        return null;
    }
}
