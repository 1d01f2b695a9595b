namespace Anshimi.Hardware.Tests;

/// <summary>Each pin rule, shown to hold on a small good map and to fire on a small bad one.</summary>
public sealed class PinRuleTests
{
    private const string Button = """{ "name": "BUTTON", "gpio": 27, "direction": "in", "pull": "up", "active": "low", "part": "SW1", "connects_to": "SW1 to GND" }""";
    private const string Led = """{ "name": "LED", "gpio": 21, "direction": "out", "pull": "none", "active": "high", "part": "D1", "connects_to": "D1 through R1" }""";

    private static readonly ChipRules Rules = ChipRules.Load();

    private static string Map(string signals, string module = "ESP32-WROOM-32E-N4", string target = "ESP32_BLE_REV3", string radios = """["wifi", "ble"]""") =>
        "{ \"device\": \"test\", \"board\": { \"module\": \"" + module + "\", \"ref\": \"U1\", \"nanoff_target\": \"" + target + "\" }, "
        + "\"radios\": " + radios + ", \"signals\": [" + signals + "] }";

    private static IReadOnlyList<Violation> Check(string json, string? bomCsv = null) =>
        PinRules.Check(PinMap.Parse(json), Rules, bomCsv is null ? null : Bom.Parse(bomCsv));

    private static void AssertOnly(string rule, IReadOnlyList<Violation> violations)
    {
        Assert.NotEmpty(violations);
        Assert.All(violations, v => Assert.Equal(rule, v.Rule));
    }

    [Fact]
    public void A_good_map_passes()
    {
        Assert.Empty(Check(Map(Button + "," + Led)));
    }

    [Fact]
    public void Same_gpio_twice_is_refused()
    {
        AssertOnly(PinRules.Unique, Check(Map(Button + "," + Led.Replace("21", "27", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData("out")]
    [InlineData("pwm")]
    public void An_input_only_pin_is_never_driven(string direction)
    {
        var signal = Led.Replace("21", "34", StringComparison.Ordinal).Replace("\"out\"", "\"" + direction + "\"", StringComparison.Ordinal);

        AssertOnly(PinRules.InputOnlyDriven, Check(Map(signal)));
    }

    [Fact]
    public void A_uart_tx_on_an_input_only_pin_is_refused_but_rx_is_fine()
    {
        const string tx = """{ "name": "TX", "gpio": 35, "direction": "uart", "role": "tx", "bus": "COM3", "pull": "none", "active": "none", "part": "U4", "connects_to": "U4 RX" }""";
        const string rx = """{ "name": "RX", "gpio": 34, "direction": "uart", "role": "rx", "bus": "COM3", "pull": "none", "active": "none", "part": "U4", "connects_to": "U4 TX" }""";
        const string rxOk = """{ "name": "RX", "gpio": 16, "direction": "uart", "role": "rx", "bus": "COM3", "pull": "none", "active": "none", "part": "U4", "connects_to": "U4 TX" }""";
        const string txOk = """{ "name": "TX", "gpio": 17, "direction": "uart", "role": "tx", "bus": "COM3", "pull": "none", "active": "none", "part": "U4", "connects_to": "U4 RX" }""";

        AssertOnly(PinRules.InputOnlyDriven, Check(Map(tx + "," + rxOk)));
        Assert.Empty(Check(Map(txOk + "," + rx)));
    }

    [Fact]
    public void An_input_only_pin_has_no_internal_pull()
    {
        AssertOnly(PinRules.InputOnlyPull, Check(Map(Button.Replace("27", "36", StringComparison.Ordinal))));
        Assert.Empty(Check(Map(Button.Replace("27", "36", StringComparison.Ordinal).Replace("\"up\"", "\"external-up\"", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(11)]
    public void Flash_pins_are_never_used(int gpio)
    {
        AssertOnly(PinRules.FlashPin, Check(Map(Led.Replace("21", gpio.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))));
    }

    [Fact]
    public void Pins_taken_inside_the_module_are_never_used()
    {
        var s3Led = Led.Replace("21", "36", StringComparison.Ordinal);

        AssertOnly(PinRules.FlashPin, Check(Map(s3Led, "ESP32-S3-WROOM-1-N8R8", "ESP32_S3_ALL")));
    }

    [Fact]
    public void A_gpio_the_chip_lacks_or_the_module_hides_is_refused()
    {
        AssertOnly(PinRules.Exists, Check(Map(Led.Replace("21", "24", StringComparison.Ordinal))));
        AssertOnly(PinRules.Exists, Check(Map(Led.Replace("21", "30", StringComparison.Ordinal), "ESP32-S3-WROOM-1-N8R8", "ESP32_S3_ALL")));
        AssertOnly(PinRules.Exists, Check(Map(Led.Replace("21", "12", StringComparison.Ordinal), "ESP32-C3-WROOM-02U-N4", "ESP32_C3_REV3", """["ble"]""")));
    }

    [Theory]
    [InlineData("ESP32-WROOM-32E-N4", "ESP32_BLE_REV3", 12)]
    [InlineData("ESP32-WROOM-32E-N4", "ESP32_BLE_REV3", 2)]
    [InlineData("ESP32-S3-WROOM-1-N8R8", "ESP32_S3_ALL", 46)]
    [InlineData("ESP32-C3-WROOM-02U-N4", "ESP32_C3_REV3", 9)]
    public void A_strapping_pin_needs_a_reason(string module, string target, int gpio)
    {
        var bare = Button.Replace("27", gpio.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var explained = bare.Replace("}", ", \"strapping\": \"released at reset, only pressed on purpose\" }", StringComparison.Ordinal);
        var blank = bare.Replace("}", ", \"strapping\": \" \" }", StringComparison.Ordinal);

        AssertOnly(PinRules.StrappingPin, Check(Map(bare, module, target)));
        AssertOnly(PinRules.StrappingPin, Check(Map(blank, module, target)));
        Assert.Empty(Check(Map(explained, module, target)));
    }

    [Fact]
    public void Analog_only_on_adc_pins()
    {
        const string analog = """{ "name": "LIGHT", "gpio": 23, "direction": "analog", "pull": "none", "active": "none", "part": "PT1", "connects_to": "PT1 emitter" }""";

        AssertOnly(PinRules.AdcCapable, Check(Map(analog)));
        Assert.Empty(Check(Map(analog.Replace("23", "34", StringComparison.Ordinal).Replace("\"analog\",", "\"analog\", \"adc_channel\": 6,", StringComparison.Ordinal))));
    }

    [Fact]
    public void Adc2_is_refused_on_a_classic_esp32_that_uses_wifi()
    {
        const string analog = """{ "name": "LIGHT", "gpio": 25, "direction": "analog", "pull": "none", "active": "none", "part": "PT1", "connects_to": "PT1 emitter" }""";

        AssertOnly(PinRules.Adc2Radio, Check(Map(analog)));
        AssertOnly(PinRules.Adc2Radio, Check(Map(analog.Replace("25", "15", StringComparison.Ordinal), "ESP32-S3-WROOM-1-N8R8", "ESP32_S3_ALL")));
        AssertOnly(PinRules.Adc2Radio, Check(Map(analog.Replace("25", "5", StringComparison.Ordinal), "ESP32-C3-WROOM-02U-N4", "ESP32_C3_REV3", """["ble"]""")));
    }

    [Fact]
    public void The_adc_channel_must_match_the_pin()
    {
        const string analog = """{ "name": "LIGHT", "gpio": 32, "direction": "analog", "adc_channel": 0, "pull": "none", "active": "none", "part": "PT1", "connects_to": "PT1 emitter" }""";

        AssertOnly(PinRules.AdcChannel, Check(Map(analog)));
        Assert.Empty(Check(Map(analog.Replace("\"adc_channel\": 0", "\"adc_channel\": 4", StringComparison.Ordinal))));
    }

    [Fact]
    public void Deep_sleep_wake_only_where_nanoframework_can_wake_the_chip()
    {
        var wake = Button.Replace("}", ", \"wake\": \"low\" }", StringComparison.Ordinal);

        Assert.Empty(Check(Map(wake)));
        AssertOnly(PinRules.WakePin, Check(Map(wake.Replace("27", "21", StringComparison.Ordinal))));
        AssertOnly(PinRules.WakePin, Check(Map(wake.Replace("27", "4", StringComparison.Ordinal), "ESP32-C3-WROOM-02U-N4", "ESP32_C3_REV3", """["ble"]""")));
    }

    [Theory]
    [InlineData("\"part\": \"SW1\"", "\"part\": \"\"")]
    [InlineData("\"connects_to\": \"SW1 to GND\"", "\"connects_to\": \"\"")]
    [InlineData(", \"connects_to\": \"SW1 to GND\"", "")]
    public void Every_signal_has_a_connection(string from, string to)
    {
        AssertOnly(PinRules.Connection, Check(Map(Button.Replace(from, to, StringComparison.Ordinal))));
    }

    [Fact]
    public void Every_part_and_the_module_are_in_the_bom()
    {
        const string bom = "ref,part,manufacturer,mpn,quantity,note\nU1,module,Espressif Systems,ESP32-WROOM-32E-N4,1,\nSW1,button,Omron,B3F-4055,1,\n";
        const string wrongModule = "ref,part,manufacturer,mpn,quantity,note\nU1,module,Espressif Systems,ESP32-WROOM-32E-N8,1,\nSW1,button,Omron,B3F-4055,1,\nD1,led,Kingbright,WP7113SGD,1,\n";

        Assert.Empty(Check(Map(Button), bom));
        AssertOnly(PinRules.PartInBom, Check(Map(Button + "," + Led), bom));
        AssertOnly(PinRules.ModuleInBom, Check(Map(Button + "," + Led), wrongModule));
    }

    [Fact]
    public void A_uart_needs_one_tx_and_one_rx()
    {
        const string tx = """{ "name": "TX", "gpio": 17, "direction": "uart", "role": "tx", "bus": "COM3", "pull": "none", "active": "none", "part": "U4", "connects_to": "U4 RX" }""";

        AssertOnly(PinRules.BusPair, Check(Map(tx)));
    }

    [Theory]
    [InlineData("ESP32-WROOM-32E-N4", "ESP32_S3_ALL", """["wifi"]""")]
    [InlineData("ESP32-WROOM-32E-N4", "ESP32_REV3", """["wifi", "ble"]""")]
    [InlineData("ESP32-C3-WROOM-02U-N4", "ESP32_C3", """["ble"]""")]
    public void The_nanoff_target_fits_the_chip_and_its_radios(string module, string target, string radios)
    {
        var led = module.StartsWith("ESP32-C3", StringComparison.Ordinal) ? Led.Replace("21", "10", StringComparison.Ordinal) : Led;

        AssertOnly(PinRules.Target, Check(Map(led, module, target, radios)));
    }

    [Fact]
    public void An_unknown_module_is_refused()
    {
        AssertOnly(PinRules.UnknownModule, Check(Map(Led, "ESP32-WROVER-E-N4R8")));
    }

    [Theory]
    [InlineData("\"direction\": \"in\"", "\"direction\": \"input\"")]
    [InlineData("\"pull\": \"up\"", "\"pull\": \"weak\"")]
    [InlineData("\"active\": \"low\"", "\"active\": \"none\"")]
    [InlineData("\"gpio\": 27", "\"gpio\": \"27\"")]
    [InlineData("\"active\": \"low\"", "\"active\": \"low\", \"wake\": \"high\"")]
    public void Malformed_signals_are_schema_violations(string from, string to)
    {
        AssertOnly(PinRules.Schema, Check(Map(Button.Replace(from, to, StringComparison.Ordinal))));
    }

    [Fact]
    public void A_file_that_is_not_json_is_a_schema_violation()
    {
        Assert.Contains(Check("{ not json"), v => v.Rule == PinRules.Schema);
    }
}
