namespace Anshimi.Hardware.Tests;

/// <summary>Every device folder under hardware/ against the chip rules, its BOM and its power budget.</summary>
public sealed class HardwareDataTests
{
    private static readonly string[] ExpectedDevices = ["battery-bell", "doorbell", "home-bell", "streetlight", "voice-bell"];
    private static readonly string[] DeviceFiles = ["pins.json", "bom.csv", "power.json", "power.md", "wiring.md"];
    private static readonly ChipRules Rules = ChipRules.Load();

    public static TheoryData<string> Devices()
    {
        var data = new TheoryData<string>();
        foreach (var dir in RepoFiles.DeviceDirectories())
        {
            data.Add(Path.GetFileName(dir));
        }

        return data;
    }

    [Fact]
    public void Every_device_has_a_folder_with_all_its_files()
    {
        Assert.Equal(ExpectedDevices, RepoFiles.DeviceDirectories().Select(Path.GetFileName));
        foreach (var device in ExpectedDevices)
        {
            foreach (var file in DeviceFiles)
            {
                Assert.True(File.Exists(RepoFiles.DevicePath(device, file)), device + "/" + file + " is missing");
            }
        }
    }

    [Fact]
    public void Rules_file_names_a_known_chip_for_every_module()
    {
        Assert.Equal(["esp32", "esp32-c3", "esp32-s3"], Rules.Chips.Keys.Order(StringComparer.Ordinal));
        foreach (var module in Rules.Modules.Values)
        {
            Assert.Contains(module.Chip, Rules.Chips.Keys);
            var chip = Rules.Chips[module.Chip];
            Assert.DoesNotContain(module.Exposed, g => !chip.Gpios.Contains(g));
        }
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void Pin_map_follows_the_chip_rules_and_the_bom(string device)
    {
        var map = PinMap.Load(RepoFiles.DevicePath(device, "pins.json"));
        var bom = Bom.Load(RepoFiles.DevicePath(device, "bom.csv"));

        Assert.Equal(device, map.Device);
        Assert.Empty(PinRules.Check(map, Rules, bom));
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void Bom_parses_with_unique_refs_and_positive_quantities(string device)
    {
        var bom = Bom.Load(RepoFiles.DevicePath(device, "bom.csv"));

        Assert.Empty(bom.Violations);
        Assert.NotEmpty(bom.Rows);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void Power_figures_are_what_their_inputs_compute(string device)
    {
        var bom = Bom.Load(RepoFiles.DevicePath(device, "bom.csv"));

        var violations = PowerBudget.Check(
            File.ReadAllText(RepoFiles.DevicePath(device, "power.json")),
            bom,
            File.ReadAllText(RepoFiles.DevicePath(device, "power.md")));

        Assert.Empty(violations);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void Wiring_doc_names_every_signal_with_its_gpio(string device)
    {
        var map = PinMap.Load(RepoFiles.DevicePath(device, "pins.json"));
        var wiring = File.ReadAllText(RepoFiles.DevicePath(device, "wiring.md"));

        Assert.Contains(map.Module, wiring, StringComparison.Ordinal);
        Assert.Contains(map.NanoffTarget, wiring, StringComparison.Ordinal);
        foreach (var s in map.Signals)
        {
            Assert.True(
                wiring.Contains("| " + s.Name + " | " + s.Gpio + " |", StringComparison.Ordinal),
                "wiring.md of " + device + " has no table row '| " + s.Name + " | " + s.Gpio + " |'");
        }
    }

    [Fact]
    public void Battery_bell_lasts_its_stated_life_at_hourly_check_ins()
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(RepoFiles.DevicePath("battery-bell", "power.json")))!.AsObject();

        var result = PowerBudget.ComputeBattery(root);

        Assert.Equal(3600, root["check_in"]!["interval_s"]!.GetValue<int>());
        Assert.InRange(result.LifeYears, 4.0, 6.0);
    }
}
