using System.Security.Cryptography;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;

namespace Anshimi.Protocol.Tests.Ota;

/// <summary>
/// Signed releases (protocol/README.md §11.2): what the packer writes verifies, and a changed manifest, a changed chunk,
/// another key or a malformed file is refused with its reason, never with an exception.
/// </summary>
[Trait("Category", "Ota")]
public sealed class ReleaseTests : IDisposable
{
    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly ReleaseKey _otherKey = ReleaseKey.Generate();

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
    }

    [Theory]
    [InlineData("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")]
    [InlineData("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")]
    public void The_release_key_signs_and_verifies_as_RFC_8032_says(string seed, string publicKey, string message, string signature)
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, seed + "\n");
            using ReleaseKey key = ReleaseKey.FromPrivateKeyFile(file);

            Assert.Equal(publicKey, Convert.ToHexStringLower(key.PublicKey));
            Assert.Equal(signature, Convert.ToHexStringLower(key.Sign(Convert.FromHexString(message))));
            Assert.True(ReleaseKey.Verifies(Convert.FromHexString(publicKey), Convert.FromHexString(message), Convert.FromHexString(signature)));
            Assert.False(ReleaseKey.Verifies(Convert.FromHexString(publicKey), [.. Convert.FromHexString(message), 0], Convert.FromHexString(signature)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_packed_release_verifies_and_its_manifest_says_what_was_packed()
    {
        byte[] release = TestReleases.Pack(_key);

        ReleaseVerification check = new ReleaseVerifier([_key.PublicKey]).Verify(release);

        Assert.True(check.IsValid, check.Problem);
        ReleaseManifest manifest = check.Manifest!;
        Assert.Equal("1.1.0", manifest.Version.ToString());
        Assert.Equal("1.0.0", manifest.MinimumVersion.ToString());
        Assert.Equal(["home", "shop"], manifest.Kinds);
        Assert.Equal(["home-bell"], manifest.Boards);
        Assert.Equal(["Anshimi.Protocol.pe", "Anshimi.Bell.Device.pe"], manifest.AssemblyNames);
        Assert.Equal(12_500, manifest.ImageSize);
        Assert.Equal(13, manifest.ChunkCount);
        Assert.Equal(212, manifest.ChunkLength(12));
        Assert.Equal(_key.KeyId, manifest.KeyId);
        Assert.True(manifest.Fits("shop", "home-bell"));
        Assert.False(manifest.Fits("voice", "home-bell"));
        Assert.False(manifest.Fits("home", "voice-bell"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(check.File!.ManifestBytes)[..8]), check.ReleaseId);
        Assert.Equal(TestReleases.BellAssemblies().SelectMany(a => a.Bytes), check.File.Image);
    }

    [Fact]
    public void A_changed_manifest_byte_fails_the_signature()
    {
        byte[] release = TestReleases.Pack(_key);
        release[ReleaseFile.HeaderLength + 18] ^= 0x01; // the version's patch number

        ReleaseVerification check = new ReleaseVerifier([_key.PublicKey]).Verify(release);

        Assert.False(check.IsValid);
        Assert.Equal(ReleaseRefusal.BadSignature, check.Reason);
    }

    [Fact]
    public void A_changed_chunk_is_refused_with_its_index()
    {
        byte[] release = TestReleases.Pack(_key);
        ReleaseFile file = ReleaseFile.Read(release)!;
        release[ReleaseFile.HeaderLength + file.ManifestBytes.Length + ReleaseFile.SignatureLength + (5 * 1024) + 7] ^= 0x80;

        ReleaseVerification check = new ReleaseVerifier([_key.PublicKey]).Verify(release);

        Assert.Equal(ReleaseRefusal.BadChunk, check.Reason);
        Assert.Contains("chunk 5", check.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_release_signed_with_an_untrusted_key_is_refused()
    {
        ReleaseVerification check = new ReleaseVerifier([_key.PublicKey]).Verify(TestReleases.Pack(_otherKey));

        Assert.Equal(ReleaseRefusal.UnknownKey, check.Reason);
    }

    [Fact]
    public void Another_key_signing_a_manifest_that_names_the_trusted_key_fails_the_signature()
    {
        ReleaseFile genuine = ReleaseFile.Read(TestReleases.Pack(_key))!;
        byte[] forged = new ReleaseFile(genuine.ManifestBytes, _otherKey.Sign(genuine.ManifestBytes), genuine.Image).Encode();

        ReleaseVerification check = new ReleaseVerifier([_key.PublicKey, _otherKey.PublicKey]).Verify(forged);

        Assert.Equal(ReleaseRefusal.BadSignature, check.Reason);
    }

    [Fact]
    public void An_image_longer_or_shorter_than_the_manifest_says_is_refused()
    {
        ReleaseFile genuine = ReleaseFile.Read(TestReleases.Pack(_key))!;
        byte[] longer = new ReleaseFile(genuine.ManifestBytes, genuine.Signature, [.. genuine.Image, 0]).Encode();
        byte[] shorter = new ReleaseFile(genuine.ManifestBytes, genuine.Signature, genuine.Image[..^1]).Encode();

        var verifier = new ReleaseVerifier([_key.PublicKey]);

        Assert.Equal(ReleaseRefusal.ImageMismatch, verifier.Verify(longer).Reason);
        Assert.Equal(ReleaseRefusal.ImageMismatch, verifier.Verify(shorter).Reason);
    }

    [Fact]
    public void Truncated_and_random_files_are_refused_without_an_exception()
    {
        byte[] release = TestReleases.Pack(_key);
        var verifier = new ReleaseVerifier([_key.PublicKey]);
        var random = new Random(15);

        for (int length = 0; length < release.Length; length += 97)
        {
            Assert.False(verifier.Verify(release[..length]).IsValid);
        }

        for (int i = 0; i < 200; i++)
        {
            byte[] mutated = (byte[])release.Clone();
            mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
            Assert.False(verifier.Verify(mutated).IsValid);
        }
    }

    [Theory]
    [InlineData("1.1.0", "1.2.0", "1.0.0")] // minimum above version
    [InlineData("1.1.0", "1.0.0", "1.1.1")] // floor above version
    public void A_manifest_whose_versions_disagree_is_not_packed(string version, string minimum, string floor)
    {
        Assert.Throws<ArgumentException>(() => TestReleases.Pack(_key, TestReleases.Bell(version, minimum, floor)));
    }

    [Fact]
    public void Versions_parse_only_as_three_numbers_and_compare_part_by_part()
    {
        Assert.True(ReleaseVersion.Parse("1.10.0")!.CompareTo(ReleaseVersion.Parse("1.9.65535")!) > 0);
        Assert.Equal(0, ReleaseVersion.Parse("2.0.1")!.CompareTo(new ReleaseVersion(2, 0, 1)));
        Assert.Null(ReleaseVersion.Parse("1.0"));
        Assert.Null(ReleaseVersion.Parse("1.0.0.0"));
        Assert.Null(ReleaseVersion.Parse("1.-1.0"));
        Assert.Null(ReleaseVersion.Parse("1.65536.0"));
        Assert.Null(ReleaseVersion.Parse(" 1.0.0"));
    }

    [Fact]
    public void Update_states_and_reasons_read_back_from_their_wire_text()
    {
        for (int state = 0; state <= UpdateState.Cancelled; state++)
        {
            Assert.Equal(state, UpdateState.Parse(UpdateState.NameOf(state)));
        }

        for (int reason = 1; reason <= UpdateReason.Unreachable; reason++)
        {
            Assert.Equal(reason, UpdateReason.Parse(UpdateReason.NameOf(reason)));
        }

        Assert.Equal(-1, UpdateState.Parse("installed"));
        Assert.False(UpdateState.IsFinal(UpdateState.Refused, UpdateReason.AlarmPending));
        Assert.True(UpdateState.IsFinal(UpdateState.Refused, UpdateReason.WrongBoard));
        Assert.True(UpdateState.IsFinal(UpdateState.RolledBack, UpdateReason.Crashed));
        Assert.False(UpdateState.IsFinal(UpdateState.Trial, UpdateReason.None));
    }
}
