using System.Diagnostics.CodeAnalysis;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Pipeline;

/// <summary>Why an uplink frame was refused: the reject reason and the detail for the reject log.</summary>
public readonly record struct UplinkRejection(string Reason, string Detail);

/// <summary>
/// Authenticates a frame heard on a device's uplink topic, in the order of protocol/README.md §2 (version 1) or §10
/// (version 2, by the first byte): well formed, from the device the topic names, of a type that travels toward the
/// gateway, registered, and signed (version 2: sealed) with that device's key. Not thread-safe (its codec reuses one MAC buffer), so it is
/// registered transient: each consumer owns one.
/// </summary>
public sealed class UplinkAuthenticator(DeviceRegistry registry)
{
    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private readonly FrameCodecV2 _v2 = new(new PlatformHmacSha256());
    private readonly byte[] _plaintext = new byte[FrameCodecV2.MaxPlaintextLength];

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
        if (FrameCodecV2.IsVersion2(payload, 0, payload.Length))
        {
            return TryAuthenticateV2(topic, topicDevice, payload, out frame, out device, out rejection);
        }

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

    /// <summary>
    /// A version-2 frame heard over BLE (protocol/README.md §10): resolves its id against every device until one's tag
    /// checks — one HMAC per device tried, and a tag check for an id hash that matched by chance.
    /// </summary>
    public bool TryResolve(byte[] payload, [NotNullWhen(true)] out Frame? frame, [NotNullWhen(true)] out DeviceEntry? device, out UplinkRejection rejection)
    {
        frame = null;
        device = null;
        if (!TryCheckStructureV2(payload, "BLE", out rejection))
        {
            return false;
        }

        rejection = new UplinkRejection(FrameErrorName.Of(FrameError.UnknownDevice), "version-2 id resolves to no device");
        foreach (DeviceEntry candidate in registry.All)
        {
            int epoch = _v2.ResolveEpoch(payload, 0, candidate.UplinkIdKey);
            if (epoch >= 0 && TryOpenV2(candidate, (byte)epoch, payload, out frame, out rejection))
            {
                device = candidate;
                return true;
            }
        }

        return false;
    }

    /// <summary>The steps of §10 on a device's uplink topic: the topic's device is the only one the id may resolve to.</summary>
    private bool TryAuthenticateV2(string topic, uint topicDevice, byte[] payload, out Frame? frame, out DeviceEntry? device, out UplinkRejection rejection)
    {
        frame = null;
        device = null;
        if (!TryCheckStructureV2(payload, topic, out rejection))
        {
            return false;
        }

        if (!registry.TryGet(topicDevice, out DeviceEntry registered))
        {
            rejection = new UplinkRejection(FrameErrorName.Of(FrameError.UnknownDevice), DeviceIdText.Format(topicDevice));
            return false;
        }

        int epoch = _v2.ResolveEpoch(payload, 0, registered.UplinkIdKey);
        if (epoch < 0)
        {
            rejection = new UplinkRejection(AlarmPipeline.TopicMismatch, topic + " carried a version-2 frame of another device");
            return false;
        }

        if (!TryOpenV2(registered, (byte)epoch, payload, out frame, out rejection))
        {
            return false;
        }

        device = registered;
        return true;
    }

    private static bool TryCheckStructureV2(byte[] payload, string where, out UplinkRejection rejection)
    {
        FrameError error = FrameCodecV2.Validate(payload, 0, payload.Length);
        if (error == FrameError.None && FrameCodecV2.ReadDirection(payload, 0) != FrameDirectionBit.Uplink)
        {
            error = FrameError.WrongDirection;
        }

        rejection = error == FrameError.None ? default : new UplinkRejection(FrameErrorName.Of(error), where + " version 2");
        return error == FrameError.None;
    }

    /// <summary>Tag, content and epoch (steps 8–10 of §10); counters are the pipeline's.</summary>
    private bool TryOpenV2(DeviceEntry device, byte epoch, byte[] payload, [NotNullWhen(true)] out Frame? frame, out UplinkRejection rejection)
    {
        frame = null;
        FrameError error = _v2.Open(payload, 0, payload.Length, device.KeysAt(epoch), _plaintext);
        if (error == FrameError.None && epoch < device.UplinkEpoch)
        {
            error = FrameError.StaleEpoch;
        }

        if (error != FrameError.None)
        {
            rejection = new UplinkRejection(FrameErrorName.Of(error), device + " epoch " + epoch);
            return false;
        }

        frame = FrameCodecV2.ReadFrame(_plaintext, payload.Length - FrameCodecV2.HeaderLength - FrameCodecV2.TagLength, device.Id, epoch);
        rejection = default;
        return true;
    }
}
