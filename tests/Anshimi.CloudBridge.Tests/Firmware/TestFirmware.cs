using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.CloudBridge.Tests.Firmware;

/// <summary>Releases for the cloud's tests, packed and signed by the real release packer.</summary>
internal static class TestFirmware
{
    public static readonly DateTimeOffset Created = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    public static byte[] Image(int seed = 1)
    {
        var image = new byte[5_000];
        new Random(seed).NextBytes(image);
        return image;
    }

    /// <summary>A home bell application, version 1.1.0, replacing 1.0.0 and later, in 1 KiB chunks (5 of them).</summary>
    public static byte[] Release(ReleaseKey key, string version = "1.1.0", int seed = 1, params string[] kinds)
    {
        byte[] image = Image(seed);
        var description = new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!,
            kinds.Length > 0 ? kinds : ["home", "shop"], ["home-bell"], "Anshimi.Bell.Device.Program", 1024);
        return ReleasePacker.Pack(description, [new ReleaseAssembly("Anshimi.Bell.Device.pe", image)], key, Created);
    }

    /// <summary>A release for the BLE-only boards: streetlights and battery bells.</summary>
    public static byte[] BleOnlyRelease(ReleaseKey key)
    {
        var description = new ReleaseDescription(ReleaseVersion.Parse("1.1.0")!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!,
            ["streetlight", "battery"], ["streetlight", "battery-bell"], "Anshimi.Streetlight.Program", 256);
        return ReleasePacker.Pack(description, [new ReleaseAssembly("Anshimi.Streetlight.pe", Image(2))], key, Created);
    }

    public static Dictionary<string, string?> Settings(ReleaseKey key) => new()
    {
        ["Firmware:ReleaseKeys:0"] = Convert.ToHexStringLower(key.PublicKey),
        ["Firmware:Interval"] = "00:00:00.200",
    };
}
