namespace Anshimi.Gateway.Supervision;

/// <summary>
/// Receives communication-trouble events: Contact ID 350 with qualifier 1 when a device falls silent,
/// 3 when it is heard again. Called under the tracker's lock, so events of one device arrive in
/// order; implementations must be quick and must not call back into the tracker.
/// </summary>
public interface ISupervisionSink
{
    void Raise(uint deviceId, string profile, ushort code, byte qualifier);
}
