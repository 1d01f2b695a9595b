using System.Diagnostics.CodeAnalysis;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Pipeline;

/// <summary>Why an uplink frame was refused: the reject reason and the detail for the reject log.</summary>
public readonly record struct UplinkRejection(string Reason, string Detail);

/// <summary>
/// Authenticates a frame heard on a device's uplink topic, in the order of protocol/README.md §2: well formed, from the
/// device the topic names, of a type that travels toward the gateway, registered, and signed with that device's key. Not thread-safe (its codec reuses one MAC buffer), so it is
/// registered transient: each consumer owns one.
/// </summary>
public sealed class UplinkAuthenticator(DeviceRegistry registry)
{
    private readonly FrameCodec _codec = new(new PlatformHmacSha256());

    public bool TryAuthenticate(
        string topic,
        uint topicDevice,
        byte[] payload,
        [NotNullWhen(true)] out Frame? frame,
        [NotNullWhen(true)] out DeviceEntry? device,
        out UplinkRejection rejection)
    {
        frame = null;
        device = null;
        FrameReadResult structure = FrameCodec.ReadUnverified(payload, 0, payload.Length);
        if (!structure.IsOk)
        {
            rejection = new UplinkRejection(FrameErrorName.Of(structure.Error), topic);
            return false;
        }

        Frame parsed = structure.Frame!;
        if (parsed.DeviceId != topicDevice)
        {
            rejection = new UplinkRejection(AlarmPipeline.TopicMismatch, topic + " carried a frame of " + DeviceIdText.Format(parsed.DeviceId));
            return false;
        }

        if (!FrameDirection.IsTowardGateway(parsed.Type))
        {
            rejection = new UplinkRejection(FrameErrorName.Of(FrameError.WrongDirection), topic + " carried frame type " + (int)parsed.Type);
            return false;
        }

        if (!registry.TryGet(parsed.DeviceId, out DeviceEntry registered))
        {
            rejection = new UplinkRejection(FrameErrorName.Of(FrameError.UnknownDevice), DeviceIdText.Format(parsed.DeviceId));
            return false;
        }

        FrameReadResult verified = _codec.Decode(payload, 0, payload.Length, registered.Key);
        if (!verified.IsOk)
        {
            rejection = new UplinkRejection(FrameErrorName.Of(verified.Error), registered.ToString());
            return false;
        }

        frame = parsed;
        device = registered;
        rejection = default;
        return true;
    }
}
