using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Protocol.Tests.Ota;

/// <summary>Releases packed by the real packer for the tests: a bell application of two assemblies.</summary>
internal static class TestReleases
{
    public static readonly DateTimeOffset Created = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    public static ReleaseAssembly[] BellAssemblies(int seed = 1) =>
    [
        new("Anshimi.Protocol.pe", Bytes(9_000, seed)),
        new("Anshimi.Bell.Device.pe", Bytes(3_500, seed + 1)),
    ];

    public static ReleaseDescription Bell(string version = "1.1.0", string minimum = "1.0.0", string floor = "1.0.0", int chunkSize = 1024) =>
        new(ReleaseVersion.Parse(version)!, ReleaseVersion.Parse(minimum)!, ReleaseVersion.Parse(floor)!, ["home", "shop"], ["home-bell"],
            "Anshimi.Bell.Device.Program", chunkSize);

    public static byte[] Pack(ReleaseKey key, ReleaseDescription? description = null, ReleaseAssembly[]? assemblies = null) =>
        ReleasePacker.Pack(description ?? Bell(), assemblies ?? BellAssemblies(), key, Created);

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
