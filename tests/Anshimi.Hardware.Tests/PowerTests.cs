using System.Text.Json.Nodes;

namespace Anshimi.Hardware.Tests;

/// <summary>The power-budget rules on small good and bad budgets.</summary>
public sealed class PowerTests
{
    private const string Mains = """
        {
          "device": "test", "supply": "mains", "derating": 0.8,
          "rails": [
            { "name": "5V", "volts": 5.0, "regulator": "PS1", "rating_mA": 1000, "feeds": ["3V3"], "states": [],
              "loads": [ { "name": "relay", "current_mA": 80, "duty": 0.5 } ], "average_mA": 110.0, "peak_mA": 380.0 },
            { "name": "3V3", "volts": 3.3, "regulator": "U2", "rating_mA": 600,
              "states": [ { "name": "idle", "current_mA": 50, "duty": 0.9 }, { "name": "tx", "current_mA": 250, "duty": 0.1 } ],
              "loads": [ { "name": "led", "current_mA": 50, "duty": 0.0 } ], "average_mA": 70.0, "peak_mA": 300.0 }
          ],
          "mains": { "psu": "PS1", "psu_efficiency": 0.5, "input_power_W": 1.1 }
        }
        """;

    private static string Battery(double life = 4.8) => """
        {
          "device": "test", "supply": "battery",
          "battery": { "ref": "BT1", "capacity_mAh": 3000, "nominal_V": 3.0, "usable_fraction": 0.85, "self_discharge_per_year": 0.01 },
          "converter": { "ref": "U2", "rail_V": 3.3, "efficiency_sleep": 0.8, "efficiency_active": 0.9, "quiescent_uA": 0.075 },
          "sleep": { "rail_uA": [ { "name": "deep sleep", "current_uA": 8.0 } ],
                     "battery_uA": [ { "name": "divider", "current_uA": 0.34 }, { "name": "leakage", "current_uA": 1.0 } ] },
          "check_in": { "interval_s": 3600, "phases": [
              { "name": "boot", "current_mA": 40, "duration_s": 1.5 }, { "name": "ble start", "current_mA": 50, "duration_s": 0.3 },
              { "name": "beacon", "current_mA": 45, "duration_s": 1.0 }, { "name": "sleep", "current_mA": 40, "duration_s": 0.2 } ] },
          "events": [ { "name": "alarm", "per_year": 12, "phases": [
              { "name": "boot", "current_mA": 40, "duration_s": 1.5 }, { "name": "ble start", "current_mA": 50, "duration_s": 0.3 },
              { "name": "beacons", "current_mA": 45, "duration_s": 30 }, { "name": "scan", "current_mA": 90, "duration_s": 10 } ] },
            { "name": "test", "per_year": 6, "phases": [
              { "name": "boot", "current_mA": 40, "duration_s": 1.5 }, { "name": "ble start", "current_mA": 50, "duration_s": 0.3 },
              { "name": "beacons", "current_mA": 45, "duration_s": 10 }, { "name": "scan", "current_mA": 90, "duration_s": 10 } ] } ],
          "result": { "sleep_current_uA": 12.41, "check_in_charge_mAs": 156.4, "average_current_uA": 57.3,
                      "annual_consumption_mAh": 501.8, "expected_life_years": LIFE }
        }
        """.Replace("LIFE", life.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static void AssertOnly(string rule, IReadOnlyList<Violation> violations)
    {
        Assert.NotEmpty(violations);
        Assert.All(violations, v => Assert.Equal(rule, v.Rule));
    }

    [Fact]
    public void A_consistent_mains_budget_passes()
    {
        Assert.Empty(PowerBudget.Check(Mains));
    }

    [Fact]
    public void State_duties_must_add_up_to_one()
    {
        var budget = Mains.Replace("\"duty\": 0.9", "\"duty\": 0.8", StringComparison.Ordinal)
            .Replace("\"average_mA\": 70.0", "\"average_mA\": 65.0", StringComparison.Ordinal)
            .Replace("\"average_mA\": 110.0", "\"average_mA\": 105.0", StringComparison.Ordinal)
            .Replace("\"input_power_W\": 1.1", "\"input_power_W\": 1.05", StringComparison.Ordinal);

        AssertOnly(PowerBudget.DutyRule, PowerBudget.Check(budget));
    }

    [Fact]
    public void A_stated_average_that_its_inputs_do_not_give_is_refused()
    {
        AssertOnly(PowerBudget.FigureRule, PowerBudget.Check(Mains.Replace("\"input_power_W\": 1.1", "\"input_power_W\": 0.8", StringComparison.Ordinal)));
        Assert.Contains(
            PowerBudget.Check(Mains.Replace("\"average_mA\": 70.0", "\"average_mA\": 60.0", StringComparison.Ordinal)),
            v => v.Rule == PowerBudget.FigureRule);
    }

    [Fact]
    public void A_peak_above_the_derated_rating_is_refused()
    {
        AssertOnly(PowerBudget.HeadroomRule, PowerBudget.Check(Mains.Replace("\"rating_mA\": 600", "\"rating_mA\": 350", StringComparison.Ordinal)));
    }

    [Fact]
    public void Regulators_are_in_the_bom()
    {
        var bom = Bom.Parse("ref,part,manufacturer,mpn,quantity,note\nPS1,psu,MEAN WELL,IRM-05-5,1,\n");

        AssertOnly(PowerBudget.RefRule, PowerBudget.Check(Mains, bom));
    }

    [Fact]
    public void The_battery_life_is_recomputed_from_its_inputs()
    {
        var result = PowerBudget.ComputeBattery(JsonNode.Parse(Battery())!.AsObject());

        // sleep: 8 µA x 3.3 / (3.0 x 0.8) + 0.34 + 1.0 + 0.075 = 12.415 µA on the cells
        Assert.Equal(12.415, result.SleepCurrentUa, 6);
        // check-in: (60 + 15 + 45 + 8) mA·s x 3.3 / (3.0 x 0.9) = 156.44 mA·s
        Assert.Equal(156.444, result.CheckInChargeMas, 3);
        Assert.Equal(4.79, result.LifeYears, 2);
        Assert.Empty(PowerBudget.Check(Battery(), null, "Expected battery life: **4.8 years** at one check-in an hour."));
    }

    [Fact]
    public void A_battery_life_in_power_json_that_the_inputs_do_not_give_is_refused()
    {
        AssertOnly(PowerBudget.FigureRule, PowerBudget.Check(Battery(life: 6.0)));
    }

    [Fact]
    public void A_battery_life_in_power_md_that_the_inputs_do_not_give_is_refused()
    {
        AssertOnly(PowerBudget.FigureRule, PowerBudget.Check(Battery(), null, "Expected battery life: **5.5 years**"));
        AssertOnly(PowerBudget.DocRule, PowerBudget.Check(Battery(), null, "The battery lasts about five years."));
    }

    [Fact]
    public void A_shorter_check_in_interval_shortens_the_life()
    {
        var fast = PowerBudget.ComputeBattery(JsonNode.Parse(Battery().Replace("\"interval_s\": 3600", "\"interval_s\": 900", StringComparison.Ordinal))!.AsObject());

        Assert.Equal(1.5, fast.LifeYears, 1);
    }

    [Fact]
    public void A_budget_without_a_supply_kind_is_a_schema_violation()
    {
        AssertOnly(PowerBudget.SchemaRule, PowerBudget.Check("{ \"device\": \"x\" }"));
        AssertOnly(PowerBudget.SchemaRule, PowerBudget.Check("{ \"supply\": \"battery\" }"));
    }
}
