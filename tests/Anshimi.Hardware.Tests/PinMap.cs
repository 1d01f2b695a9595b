using System.Text.Json;
using System.Text.Json.Nodes;

namespace Anshimi.Hardware.Tests;

/// <summary>One signal of a pin map (see hardware/README.md for the fields).</summary>
public sealed record Signal(
    string Name,
    int? Gpio,
    string Direction,
    string? Role,
    string? Bus,
    string Pull,
    string Active,
    string Part,
    string ConnectsTo,
    string? Strapping,
    string? Wake,
    int? AdcChannel);

/// <summary>A device's hardware/&lt;device&gt;/pins.json, read leniently: missing or mistyped fields become schema violations.</summary>
public sealed record PinMap(
    string Device,
    string Module,
    string ModuleRef,
    string NanoffTarget,
    IReadOnlyList<string> Radios,
    IReadOnlyList<Signal> Signals,
    IReadOnlyList<Violation> SchemaViolations)
{
    public static PinMap Load(string path) => Parse(File.ReadAllText(path));

    public static PinMap Parse(string json)
    {
        var errors = new List<Violation>();
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("not an object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            errors.Add(new Violation(PinRules.Schema, "pins.json does not parse: " + e.Message));
            return new PinMap("", "", "", "", [], [], errors);
        }

        var device = Text(root, "device", "pin map", errors) ?? "";
        var board = root["board"] as JsonObject;
        if (board is null)
        {
            errors.Add(new Violation(PinRules.Schema, "missing object 'board'"));
        }

        var module = board is null ? "" : Text(board, "module", "board", errors) ?? "";
        var moduleRef = board is null ? "" : Text(board, "ref", "board", errors) ?? "";
        var target = board is null ? "" : Text(board, "nanoff_target", "board", errors) ?? "";
        var radios = (root["radios"] as JsonArray)?.Select(r => r?.GetValue<string>() ?? "").ToList() ?? [];
        var signals = new List<Signal>();
        if (root["signals"] is not JsonArray list || list.Count == 0)
        {
            errors.Add(new Violation(PinRules.Schema, "missing or empty array 'signals'"));
        }
        else
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is not JsonObject s)
                {
                    errors.Add(new Violation(PinRules.Schema, "signals[" + i + "] is not an object"));
                    continue;
                }

                var where = "signal " + (s["name"] is JsonValue n && n.TryGetValue(out string? nm) ? nm : "#" + i);
                signals.Add(new Signal(
                    Text(s, "name", where, errors) ?? "",
                    Int(s, "gpio", where, errors, required: true),
                    Text(s, "direction", where, errors) ?? "",
                    Optional(s, "role"),
                    Optional(s, "bus"),
                    Text(s, "pull", where, errors) ?? "",
                    Text(s, "active", where, errors) ?? "",
                    Optional(s, "part") ?? "",
                    Optional(s, "connects_to") ?? "",
                    Optional(s, "strapping"),
                    Optional(s, "wake"),
                    Int(s, "adc_channel", where, errors, required: false)));
            }
        }

        return new PinMap(device, module, moduleRef, target, radios, signals, errors);
    }

    private static string? Optional(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static string? Text(JsonObject o, string name, string where, List<Violation> errors)
    {
        var s = Optional(o, name);
        if (string.IsNullOrWhiteSpace(s))
        {
            errors.Add(new Violation(PinRules.Schema, where + ": missing text field '" + name + "'"));
            return null;
        }

        return s;
    }

    private static int? Int(JsonObject o, string name, string where, List<Violation> errors, bool required)
    {
        if (o[name] is JsonValue v && v.TryGetValue(out int i))
        {
            return i;
        }

        if (required || o[name] is not null)
        {
            errors.Add(new Violation(PinRules.Schema, where + ": '" + name + "' must be an integer"));
        }

        return null;
    }
}
