using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// Handles one envelope kind from the gateways' events topics. The ingress has already parsed the envelope and
/// established which gateway sent it (from the topic the broker confines that gateway to).
/// </summary>
public interface IGatewayEnvelopeHandler
{
    Type EnvelopeType { get; }

    /// <summary>Applies the envelope; returns why it was dropped (counted and logged by the ingress), or null.</summary>
    Task<string?> HandleAsync(string gatewayId, Envelope envelope, CancellationToken cancellationToken);
}

/// <summary>Typed base of <see cref="IGatewayEnvelopeHandler"/>.</summary>
public abstract class GatewayEnvelopeHandler<TEnvelope> : IGatewayEnvelopeHandler
    where TEnvelope : Envelope
{
    public Type EnvelopeType => typeof(TEnvelope);

    public Task<string?> HandleAsync(string gatewayId, Envelope envelope, CancellationToken cancellationToken) =>
        HandleAsync(gatewayId, (TEnvelope)envelope, cancellationToken);

    protected abstract Task<string?> HandleAsync(string gatewayId, TEnvelope envelope, CancellationToken cancellationToken);
}
