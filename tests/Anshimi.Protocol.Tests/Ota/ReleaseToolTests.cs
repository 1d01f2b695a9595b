using Anshimi.Protocol.Releases;
using Anshimi.Release;

namespace Anshimi.Protocol.Tests.Ota;

/// <summary><c>anshimi-release keygen | pack | verify</c> on real files, as the release officer runs it.</summary>
[Trait("Category", "Ota")]
public sealed class ReleaseToolTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anshimi-release-").FullName;
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        _output.Dispose();
        _error.Dispose();
    }

    [Fact]
    public async Task Keygen_pack_and_verify_make_a_release_that_verifies_under_the_printed_public_key()
    {
        string key = Path.Combine(_directory, "city-release.key");
        string[] assemblies = WriteAssemblies();
        string release = Path.Combine(_directory, "bell-1.1.0.arel");

        Assert.Equal(0, await RunAsync("keygen", "--out", key));
        Assert.Equal(0, await RunAsync(["pack", "--key", key, "--version", "1.1.0", "--minimum", "1.0.0", "--floor", "1.0.0", "--kind", "home", "--kind", "shop",
            "--board", "home-bell", "--entry", "Anshimi.Bell.Device.Program", "--out", release, .. assemblies]));
        Assert.Equal(0, await RunAsync("verify", "--public-key", key + ".pub", release));

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        }

        string publicHex = File.ReadAllText(key + ".pub").Trim();
        Assert.Contains(publicHex, _output.ToString(), StringComparison.Ordinal);
        ReleaseVerification check = new ReleaseVerifier([Convert.FromHexString(publicHex)]).Verify(File.ReadAllBytes(release));
        Assert.True(check.IsValid, check.Problem);
        Assert.Equal(["home", "shop"], check.Manifest!.Kinds);
    }

    [Fact]
    public async Task Verify_refuses_a_changed_release_and_a_key_it_was_not_signed_with()
    {
        string key = Path.Combine(_directory, "city-release.key");
        string other = Path.Combine(_directory, "other.key");
        string release = Path.Combine(_directory, "bell.arel");
        await RunAsync("keygen", "--out", key);
        await RunAsync("keygen", "--out", other);
        await RunAsync(["pack", "--key", key, "--version", "1.1.0", "--kind", "home", "--board", "home-bell", "--entry", "A.Program", "--out", release, .. WriteAssemblies()]);

        Assert.Equal(ReleaseCommands.Refused, await RunAsync("verify", "--public-key", other + ".pub", release));
        Assert.Contains("unknown_key", _error.ToString(), StringComparison.Ordinal);

        byte[] bytes = File.ReadAllBytes(release);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(release, bytes);
        Assert.Equal(ReleaseCommands.Refused, await RunAsync("verify", "--public-key", key + ".pub", release));
        Assert.Contains("bad_chunk", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keygen_never_overwrites_a_key_and_pack_refuses_a_bad_version()
    {
        string key = Path.Combine(_directory, "city-release.key");
        await RunAsync("keygen", "--out", key);
        string before = File.ReadAllText(key);

        Assert.Equal(ReleaseCommands.BadInput, await RunAsync("keygen", "--out", key));
        Assert.Equal(before, File.ReadAllText(key));
        Assert.Equal(ReleaseCommands.BadInput, await RunAsync(["pack", "--key", key, "--version", "1.1", "--kind", "home", "--board", "home-bell",
            "--entry", "A.Program", "--out", Path.Combine(_directory, "x.arel"), .. WriteAssemblies()]));
        Assert.False(File.Exists(Path.Combine(_directory, "x.arel")));
    }

    private string[] WriteAssemblies() =>
        [.. TestReleases.BellAssemblies().Select(assembly =>
        {
            string path = Path.Combine(_directory, assembly.Name);
            File.WriteAllBytes(path, assembly.Bytes);
            return path;
        })];

    private Task<int> RunAsync(params string[] args) =>
        new ReleaseCommands(_output, _error, TimeProvider.System).Build().Parse(args).InvokeAsync();
}
