using System.Security.Cryptography;
using Anshimi.Protocol.Ota;

namespace Anshimi.Protocol.Releases;

/// <summary>Why a release was refused (the <c>reason</c> label the cloud counts by).</summary>
public static class ReleaseRefusal
{
    public const string BadFile = "bad_file";
    public const string BadManifest = "bad_manifest";
    public const string UnknownKey = "unknown_key";
    public const string BadSignature = "bad_signature";
    public const string BadChunk = "bad_chunk";
    public const string ImageMismatch = "image_mismatch";
}

/// <summary>What checking a release found: the release when it is good, otherwise the reason and a sentence for people.</summary>
public sealed record ReleaseVerification(
    bool IsValid, string? Reason, string Problem, ReleaseManifest? Manifest, ReleaseFile? File, string? ReleaseId)
{
    public static ReleaseVerification Refused(string reason, string problem) => new(false, reason, problem, null, null, null);
}

/// <summary>
/// Checks a release as a device would (protocol/README.md §11.2, §11.5): the file's layout, the manifest, the key id
/// among the trusted public keys, the Ed25519 signature over the manifest, every chunk's hash and the image's.
/// </summary>
public sealed class ReleaseVerifier
{
    private readonly Dictionary<string, byte[]> _keysById;

    public ReleaseVerifier(IEnumerable<byte[]> trustedPublicKeys)
    {
        ArgumentNullException.ThrowIfNull(trustedPublicKeys);
        _keysById = trustedPublicKeys.ToDictionary(key => Convert.ToHexString(ReleaseKey.KeyIdOf(key)), key => key);
    }

    public ReleaseVerification Verify(byte[] releaseFile)
    {
        if (ReleaseFile.Read(releaseFile) is not { } file)
        {
            return ReleaseVerification.Refused(ReleaseRefusal.BadFile, "not a release file (AREL format 1)");
        }

        ReleaseVerification signed = VerifyManifest(file.ManifestBytes, file.Signature);
        if (!signed.IsValid || signed.Manifest is not { } manifest)
        {
            return signed;
        }

        if (file.Image.Length != manifest.ImageSize)
        {
            return ReleaseVerification.Refused(ReleaseRefusal.ImageMismatch, "the image is " + file.Image.Length + " bytes, the manifest says " + manifest.ImageSize);
        }

        for (int i = 0; i < manifest.ChunkCount; i++)
        {
            byte[] hash = SHA256.HashData(file.Image.AsSpan(i * manifest.ChunkSize, manifest.ChunkLength(i)));
            if (!hash.AsSpan().SequenceEqual(manifest.ChunkHashes[i]))
            {
                return ReleaseVerification.Refused(ReleaseRefusal.BadChunk, "chunk " + i + " does not match its hash in the manifest");
            }
        }

        if (!SHA256.HashData(file.Image).AsSpan().SequenceEqual(manifest.ImageHash))
        {
            return ReleaseVerification.Refused(ReleaseRefusal.ImageMismatch, "the image does not match the manifest's image hash");
        }

        return signed with { File = file };
    }

    /// <summary>The manifest alone, as a device checks an offer: layout, key and signature.</summary>
    public ReleaseVerification VerifyManifest(byte[] manifestBytes, byte[] signature)
    {
        if (ReleaseManifest.Read(manifestBytes) is not { } manifest)
        {
            return ReleaseVerification.Refused(ReleaseRefusal.BadManifest, "the manifest is malformed or out of range");
        }

        if (!_keysById.TryGetValue(Convert.ToHexString(manifest.KeyId), out byte[]? publicKey))
        {
            return ReleaseVerification.Refused(ReleaseRefusal.UnknownKey, "signed with key id " + ReleaseManifest.Hex(manifest.KeyId) + ", which is not trusted");
        }

        if (!ReleaseKey.Verifies(publicKey, manifestBytes, signature))
        {
            return ReleaseVerification.Refused(ReleaseRefusal.BadSignature, "the signature over the manifest does not verify");
        }

        string releaseId = ReleaseManifest.Hex(SHA256.HashData(manifestBytes)[..ReleaseManifest.ReleaseIdLength]);
        return new ReleaseVerification(true, null, "", manifest, null, releaseId);
    }
}
