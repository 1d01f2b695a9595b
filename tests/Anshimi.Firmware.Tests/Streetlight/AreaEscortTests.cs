using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// Escort keys scoped to a district and rotated by the cloud (protocol/README.md §10.1), on the real light firmware in the
/// simulated air: a light takes escorts sealed for its own district under the key epoch it holds, through the changeover
/// also the previous one, and nothing else.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class AreaEscortTests
{
    private const uint Session = 0x00C0FFEE;

    [Fact]
    public void A_light_from_district_A_refuses_an_escort_signed_for_district_B_and_counts_it()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        Assert.Equal(StreetlightRig.Area, rig.Controller.EscortArea);

        // A walker's frame from 중랑구, relayed to a light in 광진구 within its minute.
        rig.Escort(Session, keys: StreetlightRig.Keys(StreetlightRig.OtherArea, key: StreetlightRig.OtherAreaKey));
        Heard(rig);
        Assert.True(rig.Controller.RejectedWrongArea > 0);
        Assert.Equal(0, rig.Controller.EscortAdvertsAccepted);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        // The same frame with its clear area rewritten to this district: the area is inside the tag.
        byte[] relayed = rig.Escort(Session, keys: StreetlightRig.Keys(StreetlightRig.OtherArea, key: StreetlightRig.OtherAreaKey));
        Assert.True(BleAdvertisement.TryFindFrame(relayed, 0, relayed.Length, out int offset, out _));
        relayed[offset + 1] = StreetlightRig.Area >> 8;
        relayed[offset + 2] = StreetlightRig.Area & 0xFF;
        rig.Phone.Advertise(relayed, relayed.Length, StreetlightRig.AdvertisingIntervalMs);
        Heard(rig);
        Assert.True(rig.Controller.RejectedForged > 0);
        Assert.Equal(0, rig.Controller.EscortAdvertsAccepted);

        // The district's own frame lights it.
        rig.Escort(Session);
        Heard(rig);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);
    }

    [Fact]
    public void After_a_rotation_the_previous_epoch_is_taken_through_the_changeover_and_refused_once_it_has_passed()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        byte[] nextKey = Enumerable.Range(0x10, 32).Select(i => (byte)i).ToArray();
        uint changeoverEnd = rig.UnixMinute + 3;
        Assert.True(rig.InstallEscortKey(StreetlightRig.Area, StreetlightRig.Epoch + 1, nextKey, changeoverEnd));
        Assert.Equal(StreetlightRig.Epoch + 1, rig.Controller.EscortEpoch);

        // During the changeover the cloud still signs with epoch 7: taken.
        rig.Escort(Session);
        Heard(rig);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);

        // From the changeover's end, epoch 7 is refused whatever its minute; epoch 8 is taken.
        rig.Run((changeoverEnd - rig.UnixMinute) * 60_000L);
        rig.Escort(Session + 1);
        Heard(rig);
        Assert.True(rig.Controller.RejectedStaleEpoch > 0);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);

        rig.Escort(Session + 1, keys: StreetlightRig.Keys(epoch: StreetlightRig.Epoch + 1, key: nextKey));
        Heard(rig);
        Assert.Equal(2, rig.Controller.EscortAdvertsAccepted);

        // An epoch the light never held (a recording from two rotations ago) is refused too.
        int stale = rig.Controller.RejectedStaleEpoch;
        rig.Escort(Session + 2, keys: StreetlightRig.Keys(epoch: StreetlightRig.Epoch - 1));
        Heard(rig);
        Assert.True(rig.Controller.RejectedStaleEpoch > stale);
        Assert.Equal(2, rig.Controller.EscortAdvertsAccepted);

        // The next rotation drops epoch 7 altogether; the keys survive a power cycle.
        Assert.True(rig.InstallEscortKey(StreetlightRig.Area, StreetlightRig.Epoch + 2, StreetlightRig.OtherAreaKey, rig.UnixMinute + 10));
        rig.Light.PowerCycle();
        Assert.Equal(StreetlightRig.Epoch + 2, rig.Controller.EscortEpoch);
        rig.Escort(Session + 3);
        Heard(rig);
        Assert.Equal(0, rig.Controller.EscortAdvertsAccepted);
        Assert.True(rig.Controller.RejectedStaleEpoch > 0);
    }

    [Fact]
    public void A_key_read_out_of_a_stolen_light_does_not_work_in_another_district_nor_after_the_next_rotation()
    {
        // The thief reads the flash of a light taken off its pole in 중랑구.
        var stolen = new MemoryDeviceStorage();
        var stolenRig = new StreetlightRig(StreetlightRig.Night, storage: stolen, installEscortKey: false);
        Assert.True(stolenRig.InstallEscortKey(StreetlightRig.OtherArea, StreetlightRig.Epoch, StreetlightRig.OtherAreaKey, 0));
        byte[] image = stolen.Read(AreaEscortKeys.RecordName)!;
        byte[] key = image.AsSpan(1 + EscortKeyRecord.KeyOffset, EscortKeySet.KeyLength).ToArray();
        Assert.Equal(StreetlightRig.OtherAreaKey, key);

        var rig = new StreetlightRig(StreetlightRig.Night);

        // Signed for its own district: refused in 광진구 before any key is tried.
        rig.Escort(Session, keys: StreetlightRig.Keys(StreetlightRig.OtherArea, key: key));
        Heard(rig);
        Assert.True(rig.Controller.RejectedWrongArea > 0);

        // Claiming 광진구 under the stolen key: the tag fails.
        rig.Escort(Session, keys: StreetlightRig.Keys(StreetlightRig.Area, key: key));
        Heard(rig);
        Assert.True(rig.Controller.RejectedForged > 0);
        Assert.Equal(0, rig.Controller.EscortAdvertsAccepted);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        // At home it works only until the rotation's changeover ends.
        var neighbour = new StreetlightRig(StreetlightRig.Night, installEscortKey: false);
        Assert.True(neighbour.InstallEscortKey(StreetlightRig.OtherArea, StreetlightRig.Epoch, StreetlightRig.OtherAreaKey, 0));
        Assert.True(neighbour.InstallEscortKey(StreetlightRig.OtherArea, StreetlightRig.Epoch + 1, StreetlightRig.AreaKey, neighbour.UnixMinute + 1));
        neighbour.Escort(Session, keys: StreetlightRig.Keys(StreetlightRig.OtherArea, key: key));
        Heard(neighbour);
        Assert.Equal(1, neighbour.Controller.EscortAdvertsAccepted);
        neighbour.Run(60_000);
        neighbour.Escort(Session + 1, keys: StreetlightRig.Keys(StreetlightRig.OtherArea, key: key));
        Heard(neighbour);
        Assert.True(neighbour.Controller.RejectedStaleEpoch > 0);
        Assert.Equal(1, neighbour.Controller.EscortAdvertsAccepted);
    }

    [Fact]
    public void A_light_without_an_escort_key_takes_no_escort_and_the_old_version_1_escort_is_refused()
    {
        var rig = new StreetlightRig(StreetlightRig.Night, installEscortKey: false);
        rig.Escort(Session);
        Heard(rig);
        Assert.True(rig.Controller.RejectedWrongArea > 0);

        // A record for area 0 is no key: refused, and the flash is not blamed for it.
        byte[] noArea = EscortKeyRecord.Encode(StreetlightRig.Area, StreetlightRig.Epoch, 0, StreetlightRig.AreaKey);
        noArea[0] = 0;
        noArea[1] = 0;
        Assert.False(rig.Controller.InstallEscortKey(noArea, 0));
        Assert.Equal(0, rig.Controller.EscortArea);
        Assert.True(rig.Controller.StorageHealthy);

        var keyed = new StreetlightRig(StreetlightRig.Night);
        byte[] v1 = new FrameCodec(new Anshimi.Protocol.Security.HmacSha256()).Encode(FramePayloads.Escort(Session, keyed.UnixMinute), StreetlightRig.AreaKey);
        byte[] advertisement = StreetlightRig.Advertisement(v1, withFlags: true);
        keyed.Phone.Advertise(advertisement, advertisement.Length, StreetlightRig.AdvertisingIntervalMs);
        Heard(keyed);
        Assert.True(keyed.Controller.RejectedMalformed > 0);
        Assert.Equal(0, keyed.Controller.EscortAdvertsAccepted);
    }

    /// <summary>The light hears what the phone advertises once, then the phone stops.</summary>
    private static void Heard(StreetlightRig rig)
    {
        rig.Run(200);
        rig.Phone.StopAdvertising();
        rig.Run(100);
    }
}
