using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Anshimi.Hardware.Tests;

/// <summary>
/// The nanoFramework application's pin constants (firmware/Streetlight/StreetlightPins.cs) against the board's pin
/// map: every GPIO, ADC channel and PWM frequency the firmware uses is the one hardware/streetlight/pins.json gives.
/// </summary>
public sealed partial class FirmwarePinsTests
{
    private static readonly string[] DirectionsTheFirmwareDrives = ["in", "out", "pwm", "analog"];

    [Fact]
    public void Streetlight_firmware_pins_match_the_pin_map()
    {
        string source = File.ReadAllText(Path.Combine(RepoFiles.Root, "firmware", "Streetlight", "StreetlightPins.cs"));
        string pins = File.ReadAllText(RepoFiles.DevicePath("streetlight", "pins.json"));
        Assert.Empty(Check(pins, source));
    }

    [Fact]
    public void A_constant_that_differs_from_the_pin_map_is_reported()
    {
        string source = File.ReadAllText(Path.Combine(RepoFiles.Root, "firmware", "Streetlight", "StreetlightPins.cs"))
            .Replace("DIM_PWM = 6;", "DIM_PWM = 5;", StringComparison.Ordinal)
            .Replace("LAMP_CURRENT_ADC_CHANNEL = 1;", "LAMP_CURRENT_ADC_CHANNEL = 2;", StringComparison.Ordinal)
            .Replace("DIM_PWM_FREQUENCY_HZ = 1000;", "DIM_PWM_FREQUENCY_HZ = 500;", StringComparison.Ordinal);
        string pins = File.ReadAllText(RepoFiles.DevicePath("streetlight", "pins.json"));

        List<string> problems = Check(pins, source);
        Assert.Contains(problems, p => p.Contains("DIM_PWM = 5", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("LAMP_CURRENT_ADC_CHANNEL = 2", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("DIM_PWM_FREQUENCY_HZ = 500", StringComparison.Ordinal));
    }

    [Fact]
    public void A_signal_without_a_constant_and_a_constant_without_a_signal_are_reported()
    {
        string source = File.ReadAllText(Path.Combine(RepoFiles.Root, "firmware", "Streetlight", "StreetlightPins.cs"))
            .Replace("public const int WDT_FEED = 3;", "public const int SPARE_OUTPUT = 4;", StringComparison.Ordinal);
        string pins = File.ReadAllText(RepoFiles.DevicePath("streetlight", "pins.json"));

        List<string> problems = Check(pins, source);
        Assert.Contains(problems, p => p.Contains("WDT_FEED", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("SPARE_OUTPUT", StringComparison.Ordinal));
    }

    private static List<string> Check(string pinsJson, string source)
    {
        var constants = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in ConstantPattern().Matches(source))
        {
            constants[m.Groups[1].Value] = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }

        var problems = new List<string>();
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonNode? node in JsonNode.Parse(pinsJson)!["signals"]!.AsArray())
        {
            string name = node!["name"]!.GetValue<string>();
            string direction = node["direction"]!.GetValue<string>();
            if (!DirectionsTheFirmwareDrives.Contains(direction))
            {
                continue;
            }

            expected[name] = node["gpio"]!.GetValue<int>();
            if (node["adc_channel"] is JsonNode channel)
            {
                expected[name + "_ADC_CHANNEL"] = channel.GetValue<int>();
            }

            if (node["frequency_hz"] is JsonNode frequency)
            {
                expected[name + "_FREQUENCY_HZ"] = frequency.GetValue<int>();
            }
        }

        foreach ((string name, int value) in expected)
        {
            if (!constants.TryGetValue(name, out int actual))
            {
                problems.Add("StreetlightPins has no constant " + name + " (pins.json: " + value + ")");
            }
            else if (actual != value)
            {
                problems.Add("StreetlightPins." + name + " = " + actual + " but pins.json says " + value);
            }
        }

        foreach (string name in constants.Keys.Where(n => !expected.ContainsKey(n)))
        {
            problems.Add("StreetlightPins." + name + " = " + constants[name] + " has no signal in pins.json");
        }

        return problems;
    }

    [GeneratedRegex(@"public const int (\w+) = (\d+);")]
    private static partial Regex ConstantPattern();
}
