using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Anshimi.Hardware.Tests;

/// <summary>Recomputes a hardware/&lt;device&gt;/power.json from its inputs and compares the figures it states.</summary>
public static partial class PowerBudget
{
    public const string DutyRule = "power-duty";
    public const string FigureRule = "power-figure";
    public const string HeadroomRule = "power-headroom";
    public const string RefRule = "power-ref";
    public const string DocRule = "power-doc";
    public const string SchemaRule = "power-schema";

    private const double HoursPerYear = 8760;
    private const double SecondsPerYear = 365 * 86400;

    /// <summary>Expected battery life from the battery, converter, sleep, check-in and event figures (see power.json "method").</summary>
    public sealed record BatteryResult(double SleepCurrentUa, double CheckInChargeMas, double AverageCurrentUa, double AnnualMah, double LifeYears);

    public static IReadOnlyList<Violation> Check(string powerJson, Bom? bom = null, string? powerMarkdown = null)
    {
        var v = new List<Violation>();
        try
        {
            var root = JsonNode.Parse(powerJson)!.AsObject();
            switch (Str(root, "supply"))
            {
                case "mains":
                    CheckMains(root, bom, v);
                    break;
                case "battery":
                    CheckBattery(root, bom, powerMarkdown, v);
                    break;
                default:
                    v.Add(new Violation(SchemaRule, "supply must be 'mains' or 'battery'"));
                    break;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or System.Text.Json.JsonException or NullReferenceException)
        {
            v.Add(new Violation(SchemaRule, "power.json: " + e.Message));
        }

        return v;
    }

    public static BatteryResult ComputeBattery(JsonObject root)
    {
        var battery = Obj(root, "battery");
        var converter = Obj(root, "converter");
        var railV = Num(converter, "rail_V");
        var cellV = Num(battery, "nominal_V");
        var toBatterySleep = railV / (cellV * Num(converter, "efficiency_sleep"));
        var toBatteryActive = railV / (cellV * Num(converter, "efficiency_active"));
        var sleep = Obj(root, "sleep");
        var sleepUa = Sum(sleep, "rail_uA", "current_uA") * toBatterySleep
                      + Sum(sleep, "battery_uA", "current_uA")
                      + Num(converter, "quiescent_uA");
        var checkIn = Obj(root, "check_in");
        var checkInMas = Charge(checkIn) * toBatteryActive;
        var annual = sleepUa * HoursPerYear / 1000
                     + SecondsPerYear / Num(checkIn, "interval_s") * checkInMas / 3600;
        foreach (var e in Arr(root, "events"))
        {
            annual += Num(e!.AsObject(), "per_year") * Charge(e.AsObject()) * toBatteryActive / 3600;
        }

        var capacity = Num(battery, "capacity_mAh");
        var life = capacity * Num(battery, "usable_fraction") / (annual + Num(battery, "self_discharge_per_year") * capacity);
        return new BatteryResult(sleepUa, checkInMas, annual / HoursPerYear * 1000, annual, life);
    }

    /// <summary>The life figure written in power.md as "Expected battery life: **N.N years**", or null.</summary>
    public static double? StatedLife(string markdown)
    {
        var m = LifeSentence().Match(markdown);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static void CheckBattery(JsonObject root, Bom? bom, string? markdown, List<Violation> v)
    {
        var computed = ComputeBattery(root);
        var result = Obj(root, "result");
        Compare(v, "sleep_current_uA", Num(result, "sleep_current_uA"), computed.SleepCurrentUa, 0.005);
        Compare(v, "check_in_charge_mAs", Num(result, "check_in_charge_mAs"), computed.CheckInChargeMas, 0.05);
        Compare(v, "average_current_uA", Num(result, "average_current_uA"), computed.AverageCurrentUa, 0.05);
        Compare(v, "annual_consumption_mAh", Num(result, "annual_consumption_mAh"), computed.AnnualMah, 0.05);
        Compare(v, "expected_life_years", Num(result, "expected_life_years"), computed.LifeYears, 0.05);
        if (markdown is not null)
        {
            var stated = StatedLife(markdown);
            if (stated is null)
            {
                v.Add(new Violation(DocRule, "power.md must state 'Expected battery life: **N.N years**'"));
            }
            else
            {
                Compare(v, "power.md battery life", stated.Value, computed.LifeYears, 0.05);
            }
        }

        if (bom is not null)
        {
            RefInBom(v, bom, Str(Obj(root, "battery"), "ref"));
            RefInBom(v, bom, Str(Obj(root, "converter"), "ref"));
        }
    }

    private static void CheckMains(JsonObject root, Bom? bom, List<Violation> v)
    {
        var rails = Arr(root, "rails").Select(r => r!.AsObject()).ToDictionary(r => Str(r, "name"), StringComparer.Ordinal);
        var derating = Num(root, "derating");
        var fed = rails.Values.SelectMany(r => (r["feeds"] as JsonArray ?? []).Select(f => f!.GetValue<string>())).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, rail) in rails)
        {
            var states = Arr(rail, "states");
            var duty = states.Sum(s => Num(s!.AsObject(), "duty"));
            if (states.Count > 0 && Math.Abs(duty - 1) > 1e-6)
            {
                v.Add(new Violation(DutyRule, "rail " + name + ": state duties add up to " + duty.ToString("0.###", CultureInfo.InvariantCulture) + ", not 1"));
            }

            foreach (var d in states.Concat(Arr(rail, "loads")).Select(x => Num(x!.AsObject(), "duty")).Where(d => d is < 0 or > 1))
            {
                v.Add(new Violation(DutyRule, "rail " + name + ": duty " + d.ToString(CultureInfo.InvariantCulture) + " outside 0..1"));
            }

            var average = Average(rails, rail);
            var peak = Peak(rails, rail);
            Compare(v, "rail " + name + " average_mA", Num(rail, "average_mA"), average, 0.05);
            Compare(v, "rail " + name + " peak_mA", Num(rail, "peak_mA"), peak, 0.05);
            var limit = Num(rail, "rating_mA") * derating;
            if (peak > limit)
            {
                v.Add(new Violation(HeadroomRule, "rail " + name + ": peak " + peak.ToString("0.0", CultureInfo.InvariantCulture) + " mA exceeds " + limit.ToString("0", CultureInfo.InvariantCulture) + " mA (rating x derating)"));
            }

            if (bom is not null)
            {
                RefInBom(v, bom, Str(rail, "regulator"));
            }
        }

        var top = rails.Values.Where(r => !fed.Contains(Str(r, "name"))).ToList();
        if (top.Count != 1)
        {
            v.Add(new Violation(SchemaRule, "exactly one rail must be fed by the mains supply, found " + top.Count));
            return;
        }

        var mains = Obj(root, "mains");
        var input = Average(rails, top[0]) * Num(top[0], "volts") / 1000 / Num(mains, "psu_efficiency");
        Compare(v, "mains input_power_W", Num(mains, "input_power_W"), input, 0.005);
    }

    private static double Average(Dictionary<string, JsonObject> rails, JsonObject rail) =>
        Arr(rail, "states").Concat(Arr(rail, "loads")).Sum(x => Num(x!.AsObject(), "current_mA") * Num(x!.AsObject(), "duty"))
        + Feeds(rail).Sum(f => Average(rails, rails[f]));

    private static double Peak(Dictionary<string, JsonObject> rails, JsonObject rail) =>
        Arr(rail, "states").Select(s => Num(s!.AsObject(), "current_mA")).DefaultIfEmpty(0).Max()
        + Arr(rail, "loads").Sum(l => Num(l!.AsObject(), "current_mA"))
        + Feeds(rail).Sum(f => Peak(rails, rails[f]));

    private static IEnumerable<string> Feeds(JsonObject rail) =>
        (rail["feeds"] as JsonArray ?? []).Select(f => f!.GetValue<string>());

    private static double Charge(JsonObject withPhases) =>
        Arr(withPhases, "phases").Sum(p => Num(p!.AsObject(), "current_mA") * Num(p!.AsObject(), "duration_s"));

    private static double Sum(JsonObject o, string array, string field) => Arr(o, array).Sum(x => Num(x!.AsObject(), field));

    private static void Compare(List<Violation> v, string what, double stated, double computed, double tolerance)
    {
        if (Math.Abs(stated - computed) > tolerance + 1e-9)
        {
            v.Add(new Violation(FigureRule, what + ": stated " + stated.ToString(CultureInfo.InvariantCulture) + ", computed " + computed.ToString("0.###", CultureInfo.InvariantCulture)));
        }
    }

    private static void RefInBom(List<Violation> v, Bom bom, string designator)
    {
        if (!bom.TryGet(designator, out _))
        {
            v.Add(new Violation(RefRule, designator + " is named in power.json but not in bom.csv"));
        }
    }

    private static JsonObject Obj(JsonObject o, string name) =>
        o[name] as JsonObject ?? throw new FormatException("missing object '" + name + "'");

    private static JsonArray Arr(JsonObject o, string name) =>
        o[name] as JsonArray ?? throw new FormatException("missing array '" + name + "'");

    private static string Str(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException("missing text '" + name + "'");

    private static double Num(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out double d) ? d : throw new FormatException("missing number '" + name + "'");

    [GeneratedRegex(@"Expected battery life: \*\*([0-9]+\.[0-9]) years\*\*")]
    private static partial Regex LifeSentence();
}
