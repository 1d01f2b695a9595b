using System.Globalization;
using System.Text.RegularExpressions;

namespace Anshimi.Hardware.Tests;

/// <summary>The doorbell firmware's pin constants against hardware/doorbell/pins.json, name for name.</summary>
public sealed partial class DoorbellFirmwarePinsTests
{
    private static readonly string PinsSource = Path.Combine(RepoFiles.Root, "firmware", "Anshimi.Doorbell.Device", "DoorbellPins.cs");

    [Fact]
    public void Every_firmware_pin_is_the_pin_map_signal_of_the_same_name()
    {
        PinMap map = PinMap.Load(RepoFiles.DevicePath("doorbell", "pins.json"));
        Dictionary<string, int> constants = Constants();
        var signals = map.Signals.Where(s => s.Gpio is not null).ToDictionary(s => PascalCase(s.Name), s => s.Gpio!.Value);

        foreach ((string name, int gpio) in constants.Where(c => !c.Key.EndsWith("Hz", StringComparison.Ordinal) && !c.Key.EndsWith("Bus", StringComparison.Ordinal)))
        {
            Assert.True(signals.TryGetValue(name, out int expected), name + " is not a signal of pins.json");
            Assert.Equal(expected, gpio);
        }

        // Every signal the firmware drives or reads has its constant (USB and BOOT belong to the ROM).
        foreach (Signal signal in map.Signals.Where(s => s.Direction != "usb" && s.Name != "BOOT"))
        {
            Assert.True(constants.ContainsKey(PascalCase(signal.Name)), signal.Name + " has no constant in DoorbellPins.cs");
        }
    }

    [Fact]
    public void Chime_frequency_and_camera_buses_match_the_pin_map()
    {
        string json = File.ReadAllText(RepoFiles.DevicePath("doorbell", "pins.json"));
        Dictionary<string, int> constants = Constants();
        Match frequency = FrequencyPattern().Match(json);
        Assert.True(frequency.Success);
        Assert.Equal(int.Parse(frequency.Groups[1].Value, CultureInfo.InvariantCulture), constants["ChimePwmFrequencyHz"]);

        PinMap map = PinMap.Load(RepoFiles.DevicePath("doorbell", "pins.json"));
        Assert.All(map.Signals.Where(s => s.Direction == "spi"), s => Assert.Equal("SPI" + constants["CameraSpiBus"], s.Bus));
        Assert.All(map.Signals.Where(s => s.Direction == "i2c"), s => Assert.Equal("I2C" + constants["CameraI2cBus"], s.Bus));
    }

    [Fact]
    public void The_reader_of_the_constants_finds_them_all()
    {
        // Guards the test itself: a changed declaration style must not make the checks above vacuous.
        Assert.True(Constants().Count >= 19);
    }

    private static Dictionary<string, int> Constants() =>
        ConstantPattern().Matches(File.ReadAllText(PinsSource))
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    private static string PascalCase(string signal) =>
        string.Concat(signal.Split('_').Select(part => part[..1] + part[1..].ToLowerInvariant()));

    [GeneratedRegex(@"public const int (\w+) = (\d+);")]
    private static partial Regex ConstantPattern();

    [GeneratedRegex("\"name\": \"CHIME_PWM\"[^}]*\"frequency_hz\": (\\d+)")]
    private static partial Regex FrequencyPattern();
}
