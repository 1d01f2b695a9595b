using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// A firmware release (protocol/README.md §10.2) as the cloud takes an upload and a device takes an offer's manifest:
/// the file's layout, the manifest, and the whole verification under a fixed trusted key.
/// </summary>
public sealed class ReleaseTarget : IFuzzTarget
{
    // The corpus's releases are signed with this key's seed (32 bytes of 0x5A), so a seed gets past the signature.
    private static readonly byte[] TrustedKey = Convert.FromHexString("0d7550754e0800a5d237eef5826035766b9b3e5a15868a940ab289958788e3b0");

    private readonly ReleaseVerifier _verifier = new([TrustedKey]);

    public void Run(byte[] input)
    {
        if (ReleaseFile.Read(input) is { } file)
        {
            Expect(file.Encode().AsSpan().SequenceEqual(input), "a read release file re-encodes to its bytes");
            Expect(file.Signature.Length == ReleaseFile.SignatureLength, "a release's signature is 64 bytes");
        }

        if (ReleaseManifest.Read(input) is { } manifest)
        {
            Expect(manifest.Encode().AsSpan().SequenceEqual(input), "a read manifest re-encodes to its bytes");
            Expect(manifest.ChunkCount == ReleaseManifest.ChunksFor(manifest.ImageSize, manifest.ChunkSize), "a manifest hashes every chunk");
            Expect(manifest.AssemblyLengths.Sum() == manifest.ImageSize, "a manifest's assemblies make up its image");
        }

        ReleaseVerification check = _verifier.Verify(input);
        Expect(check.IsValid ? check.Manifest is not null && check.File is not null && check.ReleaseId is { Length: 16 } : check.Reason is not null,
            "a release verifies with its manifest and id, or names its reason");
    }
}
