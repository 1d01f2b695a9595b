using System.Globalization;
using System.Text.Json.Nodes;
using Anshimi.Gateway.Outputs;
using Anshimi.Gateway.Power;

namespace Anshimi.Hardware.Tests;

/// <summary>hardware/gateway against the Raspberry Pi header, its BOM and power budget, and the gateway's own configuration.</summary>
public sealed class GatewayBoxTests
{
    private static readonly string[] Files = ["pins.json", "bom.csv", "power.json", "power.md", "wiring.md"];

    private static GatewayBox Box => GatewayBox.Load(Path.Combine(RepoFiles.Gateway, "pins.json"));

    private static Bom BoxBom => Bom.Load(Path.Combine(RepoFiles.Gateway, "bom.csv"));

    private static JsonObject Power => JsonNode.Parse(File.ReadAllText(Path.Combine(RepoFiles.Gateway, "power.json")))!.AsObject();

    [Fact]
    public void The_gateway_box_has_all_its_files()
    {
        foreach (string file in Files)
        {
            Assert.True(File.Exists(Path.Combine(RepoFiles.Gateway, file)), "gateway/" + file + " is missing");
        }
    }

    [Fact]
    public void Pin_map_uses_header_gpios_once_with_i2c1_on_gpio2_and_gpio3_and_every_part_in_the_bom()
    {
        Assert.Empty(BoxBom.Violations);
        Assert.Empty(Box.Check(BoxBom));
        Assert.Equal(2, Box.Signal("UPS_SDA").Gpio);
        Assert.Equal(3, Box.Signal("UPS_SCL").Gpio);
    }

    [Fact]
    public void Pin_map_is_the_gateway_default_output_configuration()
    {
        var outputs = new LocalOutputOptions();

        Assert.Equal(Box.Signal("SIREN_RELAY").Gpio, outputs.SirenLine);
        Assert.Equal(Box.Signal("STROBE_RELAY").Gpio, outputs.StrobeLine);
        Assert.Equal(Box.Signal("STATUS_LED").Gpio, outputs.StatusLedLine);
        Assert.Equal(Box.GpioChip, outputs.Chip);
        Assert.All([Box.Signal("SIREN_RELAY"), Box.Signal("STROBE_RELAY")], relay => Assert.Equal(outputs.RelaysActiveLow ? "low" : "high", relay.Active));
        Assert.Equal("high", Box.Signal("STATUS_LED").Active);
    }

    [Fact]
    public void The_ina219_in_the_pin_map_is_the_gateway_default_power_sensor()
    {
        var power = new PowerOptions();
        I2cChip ina219 = Assert.Single(Box.I2c, c => c.Chip == "INA219");

        Assert.Equal(ina219.Address, power.Address);
        Assert.Equal(ina219.LinuxBus, power.BusId);
        Assert.Equal(ina219.ShuntOhms, power.ShuntOhms);
        Assert.Equal("I2C1", ina219.Bus);
        Assert.Contains(BoxBom.Rows, r => r.Refs.Contains(ina219.Part) && r.Note.Contains("0x42", StringComparison.Ordinal));
    }

    [Fact]
    public void The_installed_configuration_drives_the_same_pins_and_sensor()
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoFiles.Root, "gateway", "deploy", "gateway.json")))!.AsObject();
        JsonObject outputs = config["Gateway"]!["Outputs"]!.AsObject();
        JsonObject power = config["Power"]!.AsObject();

        Assert.Equal(LocalOutputOptions.LibgpiodDriver, outputs["Driver"]!.GetValue<string>());
        Assert.Equal(Box.Signal("SIREN_RELAY").Gpio, outputs["SirenLine"]!.GetValue<int>());
        Assert.Equal(Box.Signal("STROBE_RELAY").Gpio, outputs["StrobeLine"]!.GetValue<int>());
        Assert.Equal(Box.Signal("STATUS_LED").Gpio, outputs["StatusLedLine"]!.GetValue<int>());
        Assert.True(outputs["RelaysActiveLow"]!.GetValue<bool>());
        Assert.Equal(PowerOptions.Ina219Sensor, power["Sensor"]!.GetValue<string>());
        Assert.Equal(Box.I2c[0].Address, power["Address"]!.GetValue<int>());
        Assert.Equal(Box.I2c[0].LinuxBus, power["BusId"]!.GetValue<int>());
    }

    [Fact]
    public void Power_figures_and_hold_up_are_what_their_inputs_compute()
    {
        string markdown = File.ReadAllText(Path.Combine(RepoFiles.Gateway, "power.md"));

        Assert.Empty(PowerBudget.Check(File.ReadAllText(Path.Combine(RepoFiles.Gateway, "power.json")), BoxBom));
        double hours = GatewayBox.HoldUpHours(Power);
        Assert.Equal(Power["ups"]!["hold_up_hours"]!.GetValue<double>(), hours, 0.01);
        Assert.Contains($"Hold-up on battery: **{hours.ToString("0.0", CultureInfo.InvariantCulture)} hours**", markdown, StringComparison.Ordinal);
        Assert.True(BoxBom.TryGet(Power["ups"]!["battery"]!.GetValue<string>(), out _));
    }

    [Fact]
    public void The_gateway_shuts_down_above_the_pack_cut_off_and_calls_it_low_below_full()
    {
        JsonObject ups = Power["ups"]!.AsObject();
        int cells = ups["cells_in_series"]!.GetValue<int>();
        var power = new PowerOptions();

        Assert.True(power.CriticalVolts > cells * ups["cell_cutoff_V"]!.GetValue<double>(), "CriticalVolts must leave time to shut down before the pack's protection cuts off");
        Assert.True(power.LowBatteryRestoreVolts < cells * ups["cell_full_V"]!.GetValue<double>(), "a full pack must restore low battery");
        Assert.True(power.LowBatteryVolts < cells * ups["cell_nominal_V"]!.GetValue<double>());
    }

    [Fact]
    public void Wiring_doc_names_the_board_the_ina219_and_every_signal_with_its_gpio()
    {
        string wiring = File.ReadAllText(Path.Combine(RepoFiles.Gateway, "wiring.md"));

        Assert.Contains(Box.Computer, wiring, StringComparison.Ordinal);
        Assert.Contains("0x42", wiring, StringComparison.Ordinal);
        foreach (HeaderSignal s in Box.Signals)
        {
            Assert.True(wiring.Contains($"| {s.Name} | {s.Gpio} | {s.HeaderPin} |", StringComparison.Ordinal), $"wiring.md has no row '| {s.Name} | {s.Gpio} | {s.HeaderPin} |'");
        }
    }

    [Theory]
    [InlineData("\"gpio\": 26, \"header_pin\": 37", "\"gpio\": 26, \"header_pin\": 35", GatewayBox.HeaderRule)]
    [InlineData("\"gpio\": 26, \"header_pin\": 37", "\"gpio\": 1, \"header_pin\": 28", GatewayBox.HeaderRule)]
    [InlineData("\"gpio\": 20, \"header_pin\": 38", "\"gpio\": 26, \"header_pin\": 37", GatewayBox.DuplicateRule)]
    [InlineData("\"gpio\": 3, \"header_pin\": 5", "\"gpio\": 4, \"header_pin\": 7", GatewayBox.I2cPinRule)]
    [InlineData("\"part\": \"D1\"", "\"part\": \"D9\"", GatewayBox.BomRule)]
    public void Each_rule_fires_on_a_bad_pin_map(string good, string bad, string rule)
    {
        string json = File.ReadAllText(Path.Combine(RepoFiles.Gateway, "pins.json"));
        Assert.Contains(good, json, StringComparison.Ordinal);

        IReadOnlyList<Violation> violations = GatewayBox.Parse(json.Replace(good, bad, StringComparison.Ordinal)).Check(BoxBom);

        Assert.Contains(violations, v => v.Rule == rule);
    }
}
