using System.Globalization;
using System.Text.Json.Nodes;

namespace Anshimi.Hardware.Tests;

/// <summary>A signal on the gateway's 40-pin header.</summary>
public sealed record HeaderSignal(string Name, int Gpio, int HeaderPin, string Direction, string? Role, string? Bus, string Active, string Part);

/// <summary>A chip on one of the gateway's I2C buses.</summary>
public sealed record I2cChip(string Bus, int LinuxBus, int Address, string Chip, string Part, double ShuntOhms);

/// <summary>hardware/gateway/pins.json (a Raspberry Pi 4, not an ESP32), and the rules it must follow.</summary>
public sealed record GatewayBox(string Computer, string BoardRef, int GpioChip, IReadOnlyList<HeaderSignal> Signals, IReadOnlyList<I2cChip> I2c)
{
    public const string HeaderRule = "gw-header";
    public const string DuplicateRule = "gw-duplicate";
    public const string I2cPinRule = "gw-i2c-pin";
    public const string BomRule = "gw-bom";

    /// <summary>BCM GPIO → physical pin of the Raspberry Pi 40-pin header (GPIO0/1 are the HAT EEPROM's ID bus).</summary>
    public static readonly IReadOnlyDictionary<int, int> HeaderPins = new Dictionary<int, int>
    {
        [2] = 3, [3] = 5, [4] = 7, [17] = 11, [27] = 13, [22] = 15, [10] = 19, [9] = 21, [11] = 23, [5] = 29, [6] = 31,
        [13] = 33, [19] = 35, [26] = 37, [14] = 8, [15] = 10, [18] = 12, [23] = 16, [24] = 18, [25] = 22, [8] = 24,
        [7] = 26, [12] = 32, [16] = 36, [20] = 38, [21] = 40,
    };

    /// <summary>I2C1 is fixed in the SoC's pin mux to GPIO2 (SDA) and GPIO3 (SCL).</summary>
    public static readonly IReadOnlyDictionary<string, int> I2c1Pins = new Dictionary<string, int> { ["sda"] = 2, ["scl"] = 3 };

    public static GatewayBox Load(string path) => Parse(File.ReadAllText(path));

    public static GatewayBox Parse(string json)
    {
        JsonObject root = JsonNode.Parse(json)!.AsObject();
        JsonObject board = root["board"]!.AsObject();
        return new GatewayBox(
            board["computer"]!.GetValue<string>(),
            board["ref"]!.GetValue<string>(),
            board["gpio_chip"]!.GetValue<int>(),
            [.. root["signals"]!.AsArray().Select(s => new HeaderSignal(
                s!["name"]!.GetValue<string>(),
                s["gpio"]!.GetValue<int>(),
                s["header_pin"]!.GetValue<int>(),
                s["direction"]!.GetValue<string>(),
                s["role"]?.GetValue<string>(),
                s["bus"]?.GetValue<string>(),
                s["active"]!.GetValue<string>(),
                s["part"]!.GetValue<string>()))],
            [.. root["i2c_devices"]!.AsArray().Select(d => new I2cChip(
                d!["bus"]!.GetValue<string>(),
                d["linux_bus"]!.GetValue<int>(),
                int.Parse(d["address"]!.GetValue<string>().AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                d["chip"]!.GetValue<string>(),
                d["part"]!.GetValue<string>(),
                d["shunt_ohms"]!.GetValue<double>()))]);
    }

    public HeaderSignal Signal(string name) => Signals.Single(s => s.Name == name);

    /// <summary>Header, duplicate, I2C pin mux and BOM rules; empty when the box is consistent.</summary>
    public IReadOnlyList<Violation> Check(Bom bom)
    {
        var violations = new List<Violation>();
        foreach (HeaderSignal s in Signals)
        {
            if (!HeaderPins.TryGetValue(s.Gpio, out int pin))
            {
                violations.Add(new Violation(HeaderRule, $"{s.Name}: GPIO{s.Gpio} is not a user GPIO of the 40-pin header"));
            }
            else if (pin != s.HeaderPin)
            {
                violations.Add(new Violation(HeaderRule, $"{s.Name}: GPIO{s.Gpio} is header pin {pin}, not {s.HeaderPin}"));
            }

            if (s.Direction == "i2c" && (s.Bus != "I2C1" || s.Role is null || !I2c1Pins.TryGetValue(s.Role, out int muxed) || muxed != s.Gpio))
            {
                violations.Add(new Violation(I2cPinRule, $"{s.Name}: I2C1 {s.Role} is GPIO{(s.Role is not null && I2c1Pins.TryGetValue(s.Role, out int g) ? g : -1)}, not GPIO{s.Gpio}"));
            }

            if (!bom.TryGet(s.Part, out _))
            {
                violations.Add(new Violation(BomRule, $"{s.Name}: part {s.Part} is not in bom.csv"));
            }
        }

        foreach (IGrouping<int, HeaderSignal> twice in Signals.GroupBy(s => s.Gpio).Where(g => g.Count() > 1))
        {
            violations.Add(new Violation(DuplicateRule, $"GPIO{twice.Key} is used by {string.Join(" and ", twice.Select(s => s.Name))}"));
        }

        foreach (I2cChip chip in I2c.Where(c => !bom.TryGet(c.Part, out _)))
        {
            violations.Add(new Violation(BomRule, $"{chip.Chip} at 0x{chip.Address:X2}: part {chip.Part} is not in bom.csv"));
        }

        if (!bom.TryGet(BoardRef, out _))
        {
            violations.Add(new Violation(BomRule, $"board {BoardRef} is not in bom.csv"));
        }

        return violations;
    }

    /// <summary>Hours the UPS keeps the box up from full, from power.json's "ups" inputs and the rail's average.</summary>
    public static double HoldUpHours(JsonObject power)
    {
        JsonObject ups = power["ups"]!.AsObject();
        JsonObject rail = power["rails"]!.AsArray().Select(r => r!.AsObject()).Single(r => r["name"]!.GetValue<string>() == ups["rail"]!.GetValue<string>());
        double energyWh = ups["capacity_mAh"]!.GetValue<double>() / 1000 * ups["cells_in_series"]!.GetValue<int>() * ups["cell_nominal_V"]!.GetValue<double>()
            * ups["usable_fraction"]!.GetValue<double>() * ups["converter_efficiency"]!.GetValue<double>();
        double loadW = rail["average_mA"]!.GetValue<double>() / 1000 * rail["volts"]!.GetValue<double>();
        return energyWh / loadW;
    }
}
