using System.CommandLine;
using Anshimi.Installer;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>The installer's label command, which needs no gateway.</summary>
public sealed class InstallerLabelTests : IDisposable
{
    private const string Key = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

    private readonly string _directory = Directory.CreateTempSubdirectory("anshimi-label-").FullName;

    [Fact]
    public async Task A_label_shows_the_QR_code_the_normalized_claim_code_and_the_factory_key_and_writes_SVG()
    {
        string svg = Path.Combine(_directory, "label.svg");
        (int exit, string output, string _) = await RunAsync("label", "0000b001", "--code", "abcd-efgh-ijkl-mnoz", "--key", Key, "--svg", svg);

        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("장치 0000B001", output, StringComparison.Ordinal);
        Assert.Contains("등록 코드 ABCD-EFGH-1JK1-MN0Z", output, StringComparison.Ordinal);
        Assert.Contains("공개키 DE9EDB7D-7B7DC1B4-D35B61C2-ECE43537-3F8343C8-5B78674D-ADFC7E14-6F882B4F", output, StringComparison.Ordinal);
        Assert.Contains("QR ANSHIMI:2:0000B001:ABCDEFGH1JK1MN0Z:" + Key.ToUpperInvariant(), output, StringComparison.Ordinal);
        Assert.Contains('█', output);
        Assert.StartsWith("<svg", File.ReadAllText(svg).TrimStart(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_code_a_new_valid_one_is_made_and_bad_codes_are_refused()
    {
        (int exit, string output, string _) = await RunAsync("label", "0000B001", "--key", Key, "--lang", "en");
        Assert.Equal(ExitCodes.Ok, exit);
        string line = output.Split('\n').Single(l => l.StartsWith("Claim code ", StringComparison.Ordinal));
        Assert.NotNull(ClaimCode.Normalize(line["Claim code ".Length..], out _));

        (int badExit, _, string error) = await RunAsync("label", "0000B001", "--key", Key, "--code", "ABCD-EFGH-JKMN-PQRU");
        Assert.Equal(ExitCodes.BadInput, badExit);
        Assert.Contains("invalid character", error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, (await RunAsync("label", "not-hex", "--key", Key)).Exit);
        (int badKeyExit, _, string keyError) = await RunAsync("label", "0000B001", "--key", Key[..62]);
        Assert.Equal(ExitCodes.BadInput, badKeyExit);
        Assert.Contains("64 hex digits", keyError, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await new InstallerCommands(output, error).Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
