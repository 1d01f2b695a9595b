using System.Reflection;
using System.Text.RegularExpressions;
using Anshimi.CloudBridge.Alarms;

namespace Anshimi.CloudBridge.Tests.Console;

/// <summary>Every timeline stage the store writes has a Korean and an English name in the console the bridge serves.</summary>
public sealed partial class TimelineStageNamesTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The stage constants, and the relayed form of the operator answers that travel back to the device.</summary>
    public static TheoryData<string> Stages()
    {
        string[] stages = [.. typeof(TimelineStage).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!)];
        return new(stages.Concat([TimelineStage.RelayedOf(TimelineStage.Acknowledged), TimelineStage.RelayedOf(TimelineStage.Resolved)]));
    }

    [Theory]
    [MemberData(nameof(Stages))]
    public async Task Each_stage_is_named_in_Korean_and_in_English(string stage)
    {
        string script = await _host.Http.GetStringAsync(new Uri("/console.js", UriKind.Relative));
        string[] tables = [.. StageTable().Matches(script).Select(m => m.Groups[1].Value)];
        Assert.Equal(2, tables.Length);
        var key = new Regex("(^|[\\s,{])\"?" + Regex.Escape(stage) + "\"?\\s*:\\s*\"[^\"]+\"");
        Assert.All(tables, table => Assert.Matches(key, table));
    }

    [GeneratedRegex(@"\bstage: \{(.*?)\}", RegexOptions.Singleline)]
    private static partial Regex StageTable();
}
