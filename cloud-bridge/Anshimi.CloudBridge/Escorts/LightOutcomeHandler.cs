using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Escorts;

/// <summary><c>light-outcome</c>: what became of one light of a light command, recorded per light.</summary>
public sealed class LightOutcomeHandler(LightOutcomeLog outcomes) : GatewayEnvelopeHandler<LightOutcomeEnvelope>
{
    protected override Task<string?> HandleAsync(GatewayEnvelope message, LightOutcomeEnvelope outcome, CancellationToken cancellationToken) =>
        Task.FromResult(outcomes.Record(message.GatewayId, outcome));
}
