using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>Handles one envelope kind from the gateways' events topics, after the ingress parsed and authorized it.</summary>
public interface IGatewayEnvelopeHandler
{
    Type EnvelopeType { get; }

    /// <summary>Applies the envelope; returns why it was dropped as malformed (counted and logged by the ingress), or null.</summary>
    Task<string?> HandleAsync(GatewayEnvelope message, CancellationToken cancellationToken);
}

/// <summary>Typed base of <see cref="IGatewayEnvelopeHandler"/>.</summary>
public abstract class GatewayEnvelopeHandler<TEnvelope> : IGatewayEnvelopeHandler
    where TEnvelope : Envelope
{
    public Type EnvelopeType => typeof(TEnvelope);

    public Task<string?> HandleAsync(GatewayEnvelope message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return HandleAsync(message, (TEnvelope)message.Envelope, cancellationToken);
    }

    protected abstract Task<string?> HandleAsync(GatewayEnvelope message, TEnvelope envelope, CancellationToken cancellationToken);
}
