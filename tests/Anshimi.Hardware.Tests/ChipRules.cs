using System.Globalization;
using System.Text.Json.Nodes;

namespace Anshimi.Hardware.Tests;

/// <summary>What one ESP32 variant allows on each GPIO (hardware/esp32-rules.json, "chips").</summary>
public sealed record ChipRule(
    string Id,
    IReadOnlySet<string> NanoffTargets,
    IReadOnlySet<string> NanoffBleTargets,
    IReadOnlySet<int> Gpios,
    IReadOnlySet<int> InputOnly,
    IReadOnlySet<int> NoInternalPull,
    IReadOnlySet<int> Flash,
    IReadOnlySet<int> Strapping,
    IReadOnlyDictionary<int, int> Adc1,
    IReadOnlyDictionary<int, int> Adc2,
    IReadOnlySet<string> Adc2BlockedBy,
    IReadOnlySet<int> DeepSleepWake);

/// <summary>A module: which chip it carries, which GPIOs reach its pads, which are taken inside it.</summary>
public sealed record ModuleRule(string Name, string Chip, IReadOnlySet<int> Exposed, IReadOnlyDictionary<int, string> Reserved);

public sealed class ChipRules
{
    private ChipRules(IReadOnlyDictionary<string, ChipRule> chips, IReadOnlyDictionary<string, ModuleRule> modules)
    {
        Chips = chips;
        Modules = modules;
    }

    public IReadOnlyDictionary<string, ChipRule> Chips { get; }

    public IReadOnlyDictionary<string, ModuleRule> Modules { get; }

    public static ChipRules Load() => Parse(File.ReadAllText(RepoFiles.RulesFile));

    public static ChipRules Parse(string json)
    {
        var root = JsonNode.Parse(json)?.AsObject() ?? throw new FormatException("rules: not a JSON object");
        var chips = new Dictionary<string, ChipRule>(StringComparer.Ordinal);
        foreach (var (id, node) in Required(root, "chips").AsObject())
        {
            var c = node!.AsObject();
            chips[id] = new ChipRule(
                id,
                Strings(c, "nanoff_targets"),
                Strings(c, "nanoff_ble_targets"),
                Ints(c, "gpios"),
                Ints(c, "input_only"),
                Ints(c, "no_internal_pull"),
                Ints(c, "flash"),
                Ints(c, "strapping"),
                Channels(c, "adc1"),
                Channels(c, "adc2"),
                Strings(c, "adc2_blocked_by"),
                Ints(c, "deep_sleep_wake"));
        }

        var modules = new Dictionary<string, ModuleRule>(StringComparer.Ordinal);
        foreach (var (name, node) in Required(root, "modules").AsObject())
        {
            var m = node!.AsObject();
            var reserved = Required(m, "reserved").AsObject()
                .ToDictionary(p => int.Parse(p.Key, CultureInfo.InvariantCulture), p => p.Value!.GetValue<string>());
            modules[name] = new ModuleRule(name, Required(m, "chip").GetValue<string>(), Ints(m, "exposed"), reserved);
        }

        return new ChipRules(chips, modules);
    }

    private static JsonNode Required(JsonObject o, string name) =>
        o[name] ?? throw new FormatException("rules: missing '" + name + "'");

    private static HashSet<int> Ints(JsonObject o, string name) =>
        Required(o, name).AsArray().Select(n => n!.GetValue<int>()).ToHashSet();

    private static HashSet<string> Strings(JsonObject o, string name) =>
        Required(o, name).AsArray().Select(n => n!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);

    private static Dictionary<int, int> Channels(JsonObject o, string name) =>
        Required(o, name).AsObject().ToDictionary(p => int.Parse(p.Key, CultureInfo.InvariantCulture), p => p.Value!.GetValue<int>());
}
