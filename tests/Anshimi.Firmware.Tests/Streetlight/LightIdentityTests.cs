using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;

namespace Anshimi.Firmware.Tests.Streetlight;

public sealed class LightIdentityTests
{
    [Fact]
    public void The_identity_record_round_trips_through_flash()
    {
        var storage = new MemoryDeviceStorage();
        storage.Write(LightIdentity.RecordName, LightIdentity.Encode(0x5EED0002, StreetlightRig.Key, StreetlightRig.EscortKey, 37.566535, 126.977969));

        StreetlightConfig config = LightIdentity.Load(storage)!;
        Assert.Equal(0x5EED0002u, config.LightId);
        Assert.Equal(StreetlightRig.Key, config.Key);
        Assert.Equal(StreetlightRig.EscortKey, config.EscortKey);
        Assert.Equal(37.566535, config.Latitude, 6);
        Assert.Equal(126.977969, config.Longitude, 6);
    }

    [Fact]
    public void A_missing_truncated_or_nonsense_record_means_unprovisioned()
    {
        var storage = new MemoryDeviceStorage();
        Assert.Null(LightIdentity.Load(storage));

        byte[] good = LightIdentity.Encode(1, StreetlightRig.Key, StreetlightRig.EscortKey, 37.5, 127);
        storage.Write(LightIdentity.RecordName, good[..^1]);
        Assert.Null(LightIdentity.Load(storage));

        byte[] badVersion = (byte[])good.Clone();
        badVersion[0] = 9;
        storage.Write(LightIdentity.RecordName, badVersion);
        Assert.Null(LightIdentity.Load(storage));

        storage.Write(LightIdentity.RecordName, LightIdentity.Encode(1, StreetlightRig.Key, StreetlightRig.EscortKey, 95, 127));
        Assert.Null(LightIdentity.Load(storage));
    }
}
