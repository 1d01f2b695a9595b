using System.Security.Cryptography;
using Anshimi.Protocol.Ota;

namespace Anshimi.Protocol.Releases;

/// <summary>One device application assembly as nanoFramework's build wrote it.</summary>
public sealed record ReleaseAssembly(string Name, byte[] Bytes);

/// <summary>What a release is for; the image, hashes and signature are the packer's.</summary>
public sealed record ReleaseDescription(
    ReleaseVersion Version,
    ReleaseVersion MinimumVersion,
    ReleaseVersion Floor,
    IReadOnlyList<string> Kinds,
    IReadOnlyList<string> Boards,
    string Entry,
    int ChunkSize = ReleasePacker.DefaultChunkSize);

/// <summary>Packs a device application into a signed release file (protocol/README.md §11.2).</summary>
public static class ReleasePacker
{
    public const int DefaultChunkSize = 4096;

    /// <exception cref="ArgumentException">The description or the assemblies break the manifest's limits.</exception>
    public static byte[] Pack(ReleaseDescription description, IReadOnlyList<ReleaseAssembly> assemblies, ReleaseKey key, DateTimeOffset created)
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(assemblies);
        ArgumentNullException.ThrowIfNull(key);
        if (assemblies.Count is < 1 or > ReleaseManifest.MaxAssemblies)
        {
            throw new ArgumentException("a release holds 1-" + ReleaseManifest.MaxAssemblies + " assemblies", nameof(assemblies));
        }

        if (description.ChunkSize is < ReleaseManifest.MinChunkSize or > ReleaseManifest.MaxChunkSize)
        {
            throw new ArgumentException("chunk size must be " + ReleaseManifest.MinChunkSize + "-" + ReleaseManifest.MaxChunkSize, nameof(description));
        }

        byte[] image = assemblies.SelectMany(assembly => assembly.Bytes).ToArray();
        if (image.Length is < 1 or > ReleaseManifest.MaxImageSize)
        {
            throw new ArgumentException("the image must be 1-" + ReleaseManifest.MaxImageSize + " bytes", nameof(assemblies));
        }

        int chunks = ReleaseManifest.ChunksFor(image.Length, description.ChunkSize);
        var hashes = new byte[chunks][];
        for (int i = 0; i < chunks; i++)
        {
            int start = i * description.ChunkSize;
            hashes[i] = SHA256.HashData(image.AsSpan(start, Math.Min(description.ChunkSize, image.Length - start)));
        }

        var manifest = new ReleaseManifest(
            key.KeyId, description.Version, description.MinimumVersion, description.Floor, created.ToUnixTimeSeconds(), image.Length,
            description.ChunkSize, SHA256.HashData(image), [.. description.Kinds], [.. description.Boards], description.Entry,
            [.. assemblies.Select(assembly => assembly.Name)], [.. assemblies.Select(assembly => assembly.Bytes.Length)], hashes);
        byte[] manifestBytes = manifest.Encode();
        if (ReleaseManifest.Read(manifestBytes) is null)
        {
            throw new ArgumentException("the release breaks the manifest's limits (versions, names, counts)", nameof(description));
        }

        return new ReleaseFile(manifestBytes, key.Sign(manifestBytes), image).Encode();
    }
}
