using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// Hands a light command to the owning gateway. Must not block: the planner calls it while holding its
/// claim lock, so commands for one light leave in the order they were decided.
/// </summary>
public interface ILightCommandPublisher
{
    void Publish(string gatewayId, LightCommandEnvelope command);
}
