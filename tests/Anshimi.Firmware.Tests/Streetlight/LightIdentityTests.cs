using System.Buffers.Binary;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;

namespace Anshimi.Firmware.Tests.Streetlight;

public sealed class LightIdentityTests
{
    [Fact]
    public void The_identity_record_round_trips_through_flash()
    {
        var storage = new MemoryDeviceStorage();
        storage.Write(LightIdentity.RecordName, LightIdentity.Encode(0x5EED0002, StreetlightRig.Key, 37.566535, 126.977969));

        StreetlightConfig config = LightIdentity.Load(storage)!;
        Assert.Equal(0x5EED0002u, config.LightId);
        Assert.Equal(StreetlightRig.Key, config.Key);
        Assert.Equal(37.566535, config.Latitude, 6);
        Assert.Equal(126.977969, config.Longitude, 6);
    }

    [Fact]
    public void A_record_from_before_area_keys_still_loads_and_its_city_wide_escort_key_is_not_used()
    {
        // Version 1: version · id · key · the city-wide escort key · latitude · longitude.
        byte[] image = new byte[1 + 4 + 32 + 32 + 8];
        image[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(1), 0x5EED0003);
        StreetlightRig.Key.CopyTo(image, 5);
        StreetlightRig.AreaKey.CopyTo(image, 37);
        BinaryPrimitives.WriteInt32BigEndian(image.AsSpan(69), 37_566_535);
        BinaryPrimitives.WriteInt32BigEndian(image.AsSpan(73), 126_977_969);
        var storage = new MemoryDeviceStorage();
        storage.Write(LightIdentity.RecordName, image);

        StreetlightConfig config = LightIdentity.Load(storage)!;
        Assert.Equal(0x5EED0003u, config.LightId);
        Assert.Equal(StreetlightRig.Key, config.Key);
        Assert.Equal(37.566535, config.Latitude, 6);
        Assert.Equal(126.977969, config.Longitude, 6);

        // A light booted on it holds no escort key until its gateway delivers its district's.
        var light = new SimulatedStreetlight(config, new VirtualClock(StreetlightRig.Night), new SimulatedBleAir(new VirtualClock(StreetlightRig.Night)).CreateRadio("light"), storage, new Anshimi.Protocol.Security.HmacSha256(), 0.5);
        Assert.Equal(0, light.Controller.EscortArea);
    }

    [Fact]
    public void A_missing_truncated_or_nonsense_record_means_unprovisioned()
    {
        var storage = new MemoryDeviceStorage();
        Assert.Null(LightIdentity.Load(storage));

        byte[] good = LightIdentity.Encode(1, StreetlightRig.Key, 37.5, 127);
        storage.Write(LightIdentity.RecordName, good[..^1]);
        Assert.Null(LightIdentity.Load(storage));

        byte[] badVersion = (byte[])good.Clone();
        badVersion[0] = 9;
        storage.Write(LightIdentity.RecordName, badVersion);
        Assert.Null(LightIdentity.Load(storage));

        storage.Write(LightIdentity.RecordName, LightIdentity.Encode(1, StreetlightRig.Key, 95, 127));
        Assert.Null(LightIdentity.Load(storage));
    }

    [Fact]
    public void Coordinates_are_rounded_to_micro_degrees_as_math_round_does()
    {
        var random = new Random(37);
        var coordinates = new List<double> { 0, -0.0000004, -0.0000005, 0.0000015, 0.0000025, -126.9779695, 89.9999995, -180 };
        for (int i = 0; i < 2000; i++)
        {
            coordinates.Add((random.NextDouble() - 0.5) * 180);

            // Exact half micro-degrees, where rounding half to even and half away from zero differ.
            coordinates.Add((random.Next(-90_000_000, 90_000_000) + 0.5) / 1_000_000.0);
        }

        foreach (double degrees in coordinates)
        {
            byte[] image = LightIdentity.Encode(1, StreetlightRig.Key, degrees, -degrees);
            Assert.Equal((int)Math.Round(degrees * 1_000_000.0), (int)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(37)));
            Assert.Equal((int)Math.Round(-degrees * 1_000_000.0), (int)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(41)));
        }
    }
}
