namespace Anshimi.CloudBridge.Tests;

public sealed record TestOperator(string UserName, string Password, bool Central, params string[] Districts);

/// <summary>Accounts seeded into every test bridge: central staff and one operator each for 강남구 and 종로구.</summary>
public static class TestOperators
{
    public const string GangnamCode = "11680";
    public const string JongnoCode = "11110";
    public const string JungguCode = "11140";

    public static readonly TestOperator Central = new("central", "central-pass-1234", true);
    public static readonly TestOperator Gangnam = new("gangnam-op", "gangnam-pass-1234", false, GangnamCode);
    public static readonly TestOperator Jongno = new("jongno-op", "jongno-pass-1234", false, JongnoCode);

    /// <summary>An operator of 중구, where the app tests' street lies; seeded only where a test adds it with <see cref="AddExtraSeed"/>.</summary>
    public static readonly TestOperator Junggu = new("junggu-op", "junggu-pass-1234", false, JungguCode);

    public static readonly TestOperator[] All = [Central, Gangnam, Jongno];

    public static void AddSeed(IDictionary<string, string?> configuration)
    {
        for (int i = 0; i < All.Length; i++)
        {
            Seed(configuration, i, All[i]);
        }
    }

    /// <summary>Bridge settings that seed <paramref name="extra"/> besides <see cref="All"/>.</summary>
    public static void AddExtraSeed(IDictionary<string, string?> settings, params TestOperator[] extra)
    {
        for (int i = 0; i < extra.Length; i++)
        {
            Seed(settings, All.Length + i, extra[i]);
        }
    }

    private static void Seed(IDictionary<string, string?> configuration, int index, TestOperator user)
    {
        string prefix = "Operators:Seed:" + index + ":";
        configuration[prefix + "UserName"] = user.UserName;
        configuration[prefix + "Password"] = user.Password;
        configuration[prefix + "Central"] = user.Central ? "true" : "false";
        for (int d = 0; d < user.Districts.Length; d++)
        {
            configuration[prefix + "Districts:" + d] = user.Districts[d];
        }
    }
}
