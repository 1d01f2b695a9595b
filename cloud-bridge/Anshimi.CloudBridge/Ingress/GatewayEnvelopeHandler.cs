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

/// <summary>
/// A handler that takes, in one call, a run of consecutive envelopes of its kind that were waiting together (the alarms of
/// a burst are committed in one transaction before their receipts go out).
/// </summary>
public interface IGatewayEnvelopeBurstHandler : IGatewayEnvelopeHandler
{
    /// <summary>Applies the envelopes in order; returns, for each, why it was dropped as malformed, or null.</summary>
    Task<IReadOnlyList<string?>> HandleBurstAsync(IReadOnlyList<GatewayEnvelope> messages, CancellationToken cancellationToken);
}
