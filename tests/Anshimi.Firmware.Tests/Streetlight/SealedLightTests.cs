using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// A streetlight that speaks frame version 2 (protocol/README.md §10): its beacons are sealed 27-byte frames in flagless
/// advertisements, it obeys only sealed commands addressed to it (a version-1 command, another light's command, a bell's
/// uplink are not its to judge), keeps its command floor per key epoch across power cuts in blocks of 64, and moves its
/// beacons to a new key epoch on a re-key.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class SealedLightTests
{
    private static readonly DateTime Night = new(2025, 1, 15, 14, 0, 0, DateTimeKind.Utc);

    private readonly FrameCodecV2 _codec = new(new HmacSha256());
    private readonly FrameKeySet _keys = new(new HmacSha256(), StreetlightRig.Key, 0);
    private uint _counter;

    [Fact]
    public void A_version_2_light_beacons_sealed_and_obeys_only_the_sealed_commands_addressed_to_it_once()
    {
        var rig = new StreetlightRig(Night, c => c.FrameVersion = FrameCodecV2.Version);
        rig.Run(2000);
        Frame beacon = Beacon(rig, out byte[] advertisement);
        Assert.Equal(LightMode.Schedule, FramePayloads.BeaconMode(beacon));
        Assert.Equal(4 + FrameCodecV2.UplinkFrameLength, advertisement.Length);
        Assert.Equal(0x20, advertisement[4]);

        // Not for it: a version-1 command with its id, another light's sealed command.
        rig.SendCommand(LightMode.Emergency, 0);
        rig.Run(2000);
        var otherKeys = new FrameKeySet(new HmacSha256(), [.. StreetlightRig.Key.Select(b => (byte)(b ^ 0x5A))], 0);
        Send(rig, FrameType.Command, [LightMode.Emergency, 0, 0], otherKeys);
        rig.Run(2000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.Equal(0, rig.Controller.CommandsAccepted);
        Assert.Equal(0, rig.Controller.RejectedTotal);

        byte[] emergency = Send(rig, FrameType.Command, [LightMode.Emergency, 0, 0]);
        rig.Run(2000);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);
        Assert.Equal(LightMode.Emergency, FramePayloads.BeaconMode(Beacon(rig, out _)));
        Send(rig, FrameType.Command, [LightMode.Schedule, 0, 0]);
        rig.Run(2000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        // After a power cut the recorded emergency, and the rest of the block, are refused; the next block acts.
        rig.Light.PowerCycle();
        rig.Gateway.Advertise(emergency, emergency.Length, 100);
        rig.Run(2000);
        Send(rig, FrameType.Command, [LightMode.Emergency, 0, 0]);
        rig.Run(2000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.Equal(0, rig.Controller.CommandsAccepted);
        Assert.True(rig.Controller.RejectedReplayed > 0, "refused as replays");

        _counter = CounterBlock.NextStart(_counter, CounterBlock.LightCommand) - 1;
        Send(rig, FrameType.Command, [LightMode.Emergency, 0, 0]);
        rig.Run(2000);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);
    }

    [Fact]
    public void A_re_key_moves_the_lights_beacons_to_the_new_epoch_and_a_forged_one_does_nothing()
    {
        var rig = new StreetlightRig(Night, c => c.FrameVersion = FrameCodecV2.Version);
        rig.Run(2000);
        Assert.Equal(0, Beacon(rig, out _).Epoch);

        var forged = new FrameKeySet(new HmacSha256(), [.. StreetlightRig.Key.Select(b => (byte)(b ^ 0x01))], 0);
        byte[] frame = Sealed(FrameType.Rekey, [1], forged);

        // Forged under another key, the id does not even resolve here: a neighbour's frame, not counted and not obeyed.
        rig.Gateway.Advertise(StreetlightRig.Advertisement(frame, withFlags: false), FrameCodecV2.DownlinkFrameLength + 4, 100);
        rig.Run(6000);
        Assert.Equal(0, rig.Controller.KeyEpoch);

        Send(rig, FrameType.Rekey, [1]);
        rig.Run(6000);
        Assert.Equal(1, rig.Controller.KeyEpoch);
        Assert.Equal(1, Beacon(rig, out _).Epoch);
    }

    private byte[] Send(StreetlightRig rig, FrameType type, byte[] payload, FrameKeySet? keys = null)
    {
        byte[] advertisement = StreetlightRig.Advertisement(Sealed(type, payload, keys ?? _keys), withFlags: false);
        rig.Gateway.Advertise(advertisement, advertisement.Length, 100);
        return advertisement;
    }

    private byte[] Sealed(FrameType type, byte[] payload, FrameKeySet keys)
    {
        var frame = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(type, ++_counter, 0, 0, 0, payload, 0, payload.Length, keys, frame, 0);
        return frame;
    }

    private Frame Beacon(StreetlightRig rig, out byte[] advertisement)
    {
        advertisement = rig.Light.Radio.Advertising ?? throw new InvalidOperationException("the light advertises nothing");
        Assert.True(BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length));
        FrameReadResult result = _codec.Decode(advertisement, offset, length, FrameDirectionBit.Uplink, StreetlightRig.LightId, new FrameKeySet(new HmacSha256(), StreetlightRig.Key, 0));
        Assert.True(result.IsOk, "beacon does not open: " + FrameErrorName.Of(result.Error));
        Assert.Equal(FrameType.Beacon, result.Frame!.Type);
        return result.Frame;
    }
}
