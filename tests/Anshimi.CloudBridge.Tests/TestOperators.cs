namespace Anshimi.CloudBridge.Tests;

public sealed record TestOperator(string UserName, string Password, bool Central, params string[] Districts);

/// <summary>Accounts seeded into every test bridge: central staff and one operator each for 강남구 and 종로구.</summary>
public static class TestOperators
{
    public const string GangnamCode = "11680";
    public const string JongnoCode = "11110";

    public static readonly TestOperator Central = new("central", "central-pass-1234", true);
    public static readonly TestOperator Gangnam = new("gangnam-op", "gangnam-pass-1234", false, GangnamCode);
    public static readonly TestOperator Jongno = new("jongno-op", "jongno-pass-1234", false, JongnoCode);

    public static readonly TestOperator[] All = [Central, Gangnam, Jongno];

    public static void AddSeed(IDictionary<string, string?> configuration)
    {
        for (int i = 0; i < All.Length; i++)
        {
            string prefix = "Operators:Seed:" + i + ":";
            configuration[prefix + "UserName"] = All[i].UserName;
            configuration[prefix + "Password"] = All[i].Password;
            configuration[prefix + "Central"] = All[i].Central ? "true" : "false";
            for (int d = 0; d < All[i].Districts.Length; d++)
            {
                configuration[prefix + "Districts:" + d] = All[i].Districts[d];
            }
        }
    }
}
