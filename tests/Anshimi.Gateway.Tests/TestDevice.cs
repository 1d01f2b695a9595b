using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Gateway.Tests;

/// <summary>A provisioned device that signs frames the way a bell does.</summary>
public sealed class TestDevice(uint id, byte keySeed, string profile = "home-panic")
{
    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private readonly FrameCodecV2 _v2 = new(new PlatformHmacSha256());

    public uint Id { get; } = id;

    public byte[] Key { get; } = Enumerable.Range(0, 32).Select(i => (byte)(keySeed + i)).ToArray();

    public string Profile { get; } = profile;

    public string UplinkTopic => Topics.DeviceUplink(Id);

    public string DownlinkTopic => Topics.DeviceDownlink(Id);

    public SiteInfo Site => new("home", 37.5665, 126.978, "Jung-gu, Sejong-daero 110");

    public DeviceRecord Record => new(DeviceIdText.Format(Id), Convert.ToHexString(Key), "device-password", Profile, Site, "11140");

    public byte[] Alarm(uint counter, ushort code = ContactIdCode.Panic, ushort zone = 1) =>
        _codec.Encode(Frame.Alarm(Id, counter, code, ContactIdQualifier.NewEvent, zone), Key);

    public byte[] Heartbeat(uint counter) =>
        _codec.Encode(new Frame(FrameType.Heartbeat, Id, counter, ContactIdCode.None, ContactIdQualifier.None, 0, new byte[2]), Key);

    public byte[] Sign(Frame frame) => _codec.Encode(frame, Key);

    /// <summary>Seals a frame in version 2 (protocol/README.md §10) under the device's keys of <paramref name="epoch"/>.</summary>
    public byte[] SealV2(Frame frame, byte epoch = 0) => _v2.Encode(frame, new FrameKeySet(new PlatformHmacSha256(), Key, epoch));

    /// <summary>Reads a version-2 downlink as a version-2 device would: null unless it resolves to this device and opens.</summary>
    public Frame? ReadDownlinkV2(byte[] payload)
    {
        FrameReadResult result = _v2.Decode(payload, 0, payload.Length, FrameDirectionBit.Downlink, Id, new FrameKeySet(new PlatformHmacSha256(), Key, 0));
        return result.IsOk ? result.Frame : null;
    }

    /// <summary>Reads a downlink as the device would: null unless the tag verifies under its key.</summary>
    public Frame? ReadDownlink(byte[] payload)
    {
        FrameReadResult result = _codec.Decode(payload, 0, payload.Length, Key);
        return result.IsOk ? result.Frame : null;
    }
}
