using System.Text.RegularExpressions;
using Anshimi.Installer;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>Every error code the installer API can answer with has an installer text in Korean and English.</summary>
public sealed partial class InstallerTextsTests
{
    public static TheoryData<string> ErrorCodes()
    {
        var codes = new TheoryData<string>();
        foreach (string code in Codes())
        {
            codes.Add(code);
        }

        return codes;
    }

    [Fact]
    public void The_api_s_error_codes_are_found()
    {
        string[] codes = Codes();
        Assert.Contains("wrong_claim_code", codes);
        Assert.Contains("unauthorized", codes);
        Assert.True(codes.Length >= 15);
    }

    [Theory]
    [MemberData(nameof(ErrorCodes))]
    public void An_error_code_is_told_to_the_installer_in_korean_and_in_english(string code)
    {
        const string Fallback = "(the gateway's own message)";
        string korean = new Texts(english: false).Error(code, Fallback);
        string english = new Texts(english: true).Error(code, Fallback);

        Assert.NotEqual(Fallback, korean);
        Assert.Matches(Hangul(), korean);
        Assert.NotEqual(Fallback, english);
        Assert.DoesNotMatch(Hangul(), english);
    }

    private static string[] Codes() =>
        [.. Directory.EnumerateFiles(RepoPaths.Combine("gateway", "Anshimi.Gateway", "Provisioning"), "*.cs")
            .SelectMany(file => ErrorCode().Matches(File.ReadAllText(file)).Select(m => m.Groups["code"].Value))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];

    [GeneratedRegex(@"(?:CommissioningException\(\d+, |ApiError\()""(?<code>[a-z_]+)""")]
    private static partial Regex ErrorCode();

    [GeneratedRegex(@"\p{IsHangulSyllables}")]
    private static partial Regex Hangul();
}
