using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// A version-2 light takes its district's escort key from the gateway as 13 sealed type-9 parts (protocol/README.md §10.1):
/// it installs the record only when all 13 of one epoch are in, its beacon then reports the epoch, a new epoch keeps the
/// current key as the previous one, and a forged or replayed part is refused and counted.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class EscortKeyPartTests
{
    private readonly FrameCodecV2 _codec = new(new HmacSha256());
    private readonly FrameKeySet _keys = new(new HmacSha256(), StreetlightRig.Key, 0);
    private uint _counter;

    [Fact]
    public void The_light_installs_its_district_key_when_all_13_parts_are_in_and_its_beacon_reports_the_epoch()
    {
        var rig = new StreetlightRig(StreetlightRig.Night, c => c.FrameVersion = FrameCodecV2.Version, installEscortKey: false);
        rig.Run(2000);
        Assert.Equal(-1, FramePayloads.BeaconEscortEpoch(Beacon(rig)));

        byte[] record = EscortKeyRecord.Encode(StreetlightRig.Area, StreetlightRig.Epoch, 1000, StreetlightRig.AreaKey);
        for (int part = 0; part < EscortKeyRecord.PartCount - 1; part++)
        {
            SendPart(rig, record, part);
        }

        Assert.Equal(0, rig.Controller.EscortArea);
        SendPart(rig, record, EscortKeyRecord.PartCount - 1);
        Assert.Equal(StreetlightRig.Area, rig.Controller.EscortArea);
        Assert.Equal(StreetlightRig.Epoch, rig.Controller.EscortEpoch);
        Assert.Equal(1, rig.Controller.EscortKeysInstalled);
        rig.Run(12_000);
        Assert.Equal(StreetlightRig.Epoch, FramePayloads.BeaconEscortEpoch(Beacon(rig)));

        // The next rotation: the parts of epoch 8, its first ones mixed with a stray part of epoch 7, which starts over.
        byte[] next = EscortKeyRecord.Encode(StreetlightRig.Area, StreetlightRig.Epoch + 1, 2000, StreetlightRig.OtherAreaKey);
        SendPart(rig, next, 0);
        SendPart(rig, record, 1);
        for (int part = 1; part < EscortKeyRecord.PartCount; part++)
        {
            SendPart(rig, next, part);
        }

        Assert.Equal(StreetlightRig.Epoch, rig.Controller.EscortEpoch);
        SendPart(rig, next, 0);
        Assert.Equal(StreetlightRig.Epoch + 1, rig.Controller.EscortEpoch);
        Assert.Equal(2, rig.Controller.EscortKeysInstalled);
        Assert.Equal(0, rig.Controller.RejectedTotal);
    }

    [Fact]
    public void A_forged_or_replayed_part_is_refused_and_counted_and_never_completes_a_key()
    {
        var rig = new StreetlightRig(StreetlightRig.Night, c => c.FrameVersion = FrameCodecV2.Version, installEscortKey: false);
        rig.Run(2000);
        byte[] record = EscortKeyRecord.Encode(StreetlightRig.Area, StreetlightRig.Epoch, 1000, StreetlightRig.AreaKey);
        byte[] first = SendPart(rig, record, 0);
        for (int part = 1; part < EscortKeyRecord.PartCount - 1; part++)
        {
            SendPart(rig, record, part);
        }

        // The last part with its tag changed: the id resolves, the tag does not check.
        byte[] forged = Sealed(EscortKeyRecord.Part(record, EscortKeyRecord.PartCount - 1));
        forged[^1] ^= 0x01;
        Air(rig, forged);
        Assert.True(rig.Controller.RejectedForged > 0, "the forged part is counted");
        Assert.Equal(0, rig.Controller.RejectedReplayed);

        // A recorded earlier part again, after later ones: below the floor.
        rig.Gateway.Advertise(first, first.Length, 100);
        rig.Run(1000);
        Assert.True(rig.Controller.RejectedReplayed > 0, "the replayed part is counted");
        Assert.Equal(0, rig.Controller.EscortArea);
        Assert.Equal(0, rig.Controller.EscortKeysInstalled);

        SendPart(rig, record, EscortKeyRecord.PartCount - 1);
        Assert.Equal(StreetlightRig.Area, rig.Controller.EscortArea);
    }

    [Fact]
    public void A_part_index_above_12_is_malformed()
    {
        var payload = new byte[EscortKeyRecord.PartPayloadLength];
        payload[1] = EscortKeyRecord.PartCount;
        var rig = new StreetlightRig(StreetlightRig.Night, c => c.FrameVersion = FrameCodecV2.Version, installEscortKey: false);
        rig.Run(2000);
        Air(rig, Sealed(payload));
        Assert.True(rig.Controller.RejectedMalformed > 0, "the part is counted as malformed");
        Assert.Equal(0, rig.Controller.RejectedForged);
    }

    private byte[] SendPart(StreetlightRig rig, byte[] record, int part) => Air(rig, Sealed(EscortKeyRecord.Part(record, part)));

    private byte[] Air(StreetlightRig rig, byte[] frame)
    {
        byte[] advertisement = StreetlightRig.Advertisement(frame, withFlags: false);
        rig.Gateway.Advertise(advertisement, advertisement.Length, 100);
        rig.Run(1000);
        return advertisement;
    }

    private byte[] Sealed(byte[] payload)
    {
        var frame = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(FrameType.EscortKeyPart, ++_counter, 0, 0, 0, payload, 0, payload.Length, _keys, frame, 0);
        return frame;
    }

    private Frame Beacon(StreetlightRig rig)
    {
        byte[] advertisement = rig.Light.Radio.Advertising ?? throw new InvalidOperationException("the light advertises nothing");
        Assert.True(BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length));
        FrameReadResult result = _codec.Decode(advertisement, offset, length, FrameDirectionBit.Uplink, StreetlightRig.LightId, _keys);
        Assert.True(result.IsOk, "beacon does not open: " + FrameErrorName.Of(result.Error));
        return result.Frame!;
    }
}
