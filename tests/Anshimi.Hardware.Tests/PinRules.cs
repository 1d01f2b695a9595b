namespace Anshimi.Hardware.Tests;

/// <summary>
/// The checks a pin map must pass against hardware/esp32-rules.json and its device's bill of materials.
/// Each rule has a stable id; the tests prove every id fires on a small bad example.
/// </summary>
public static class PinRules
{
    public const string Schema = "schema";
    public const string UnknownModule = "unknown-module";
    public const string Target = "nanoff-target";
    public const string Exists = "gpio-exists";
    public const string Unique = "gpio-unique";
    public const string FlashPin = "flash-pin";
    public const string InputOnlyDriven = "input-only-driven";
    public const string InputOnlyPull = "input-only-pull";
    public const string StrappingPin = "strapping";
    public const string AdcCapable = "adc-capable";
    public const string Adc2Radio = "adc2-radio";
    public const string AdcChannel = "adc-channel";
    public const string WakePin = "wake-pin";
    public const string Connection = "connection";
    public const string BusPair = "bus-pair";
    public const string PartInBom = "part-in-bom";
    public const string ModuleInBom = "module-in-bom";

    private static readonly string[] Directions = ["in", "out", "analog", "pwm", "uart", "spi", "i2c", "usb"];
    private static readonly string[] Pulls = ["none", "up", "down", "external-up", "external-down"];
    private static readonly string[] Radios = ["wifi", "ble"];

    private static readonly Dictionary<string, string[]> Roles = new(StringComparer.Ordinal)
    {
        ["uart"] = ["tx", "rx"],
        ["spi"] = ["sck", "mosi", "miso"],
        ["i2c"] = ["sda", "scl"],
        ["usb"] = ["dm", "dp"],
    };

    /// <summary>True when the pin drives its line: outputs, PWM, UART TX, SPI clock/MOSI, I2C (open drain pulls low), USB.</summary>
    public static bool Drives(Signal s) => s.Direction switch
    {
        "out" or "pwm" or "i2c" or "usb" => true,
        "uart" => s.Role == "tx",
        "spi" => s.Role is "sck" or "mosi",
        _ => false,
    };

    /// <summary>All violations of <paramref name="map"/>; <paramref name="bom"/> adds the cross-checks with the bill of materials.</summary>
    public static IReadOnlyList<Violation> Check(PinMap map, ChipRules rules, Bom? bom = null)
    {
        var v = new List<Violation>(map.SchemaViolations);
        if (!rules.Modules.TryGetValue(map.Module, out var module) || !rules.Chips.TryGetValue(module.Chip, out var chip))
        {
            v.Add(new Violation(UnknownModule, "module '" + map.Module + "' is not in esp32-rules.json"));
            return v;
        }

        CheckBoard(map, chip, v);
        var byGpio = new Dictionary<int, string>();
        foreach (var s in map.Signals)
        {
            CheckFields(s, v);
            if (s.Gpio is not int gpio)
            {
                continue;
            }

            var name = s.Name + " (GPIO" + gpio + ")";
            if (!byGpio.TryAdd(gpio, s.Name))
            {
                v.Add(new Violation(Unique, name + " is already used by " + byGpio[gpio]));
            }

            if (!chip.Gpios.Contains(gpio) || !module.Exposed.Contains(gpio))
            {
                v.Add(new Violation(Exists, name + ": no such GPIO on " + chip.Id + " or not brought out by " + module.Name));
                continue;
            }

            if (chip.Flash.Contains(gpio))
            {
                v.Add(new Violation(FlashPin, name + " is wired to the SPI flash"));
            }

            if (module.Reserved.TryGetValue(gpio, out var why))
            {
                v.Add(new Violation(FlashPin, name + " is taken inside " + module.Name + ": " + why));
            }

            if (chip.InputOnly.Contains(gpio) && Drives(s))
            {
                v.Add(new Violation(InputOnlyDriven, name + " is input-only on " + chip.Id + " but the signal drives it (" + s.Direction + ")"));
            }

            if (chip.NoInternalPull.Contains(gpio) && s.Pull is "up" or "down")
            {
                v.Add(new Violation(InputOnlyPull, name + " has no internal pull-" + s.Pull + " on " + chip.Id + "; fit an external resistor"));
            }

            if (chip.Strapping.Contains(gpio) && string.IsNullOrWhiteSpace(s.Strapping))
            {
                v.Add(new Violation(StrappingPin, name + " is a strapping pin of " + chip.Id + "; say why it is safe in \"strapping\""));
            }

            CheckAnalog(map, chip, s, gpio, name, v);
            if (s.Wake is not null && !chip.DeepSleepWake.Contains(gpio))
            {
                v.Add(new Violation(WakePin, name + " cannot wake " + chip.Id + " from deep sleep with nanoFramework"));
            }
        }

        CheckBuses(map, v);
        if (bom is not null)
        {
            CheckBom(map, bom, v);
        }

        return v;
    }

    private static void CheckBoard(PinMap map, ChipRule chip, List<Violation> v)
    {
        foreach (var r in map.Radios.Where(r => !Radios.Contains(r)))
        {
            v.Add(new Violation(Schema, "unknown radio '" + r + "'"));
        }

        if (!chip.NanoffTargets.Contains(map.NanoffTarget))
        {
            v.Add(new Violation(Target, "nanoff target '" + map.NanoffTarget + "' is not a " + chip.Id + " image"));
        }
        else if (map.Radios.Contains("ble") && !chip.NanoffBleTargets.Contains(map.NanoffTarget))
        {
            v.Add(new Violation(Target, "the device uses BLE but nanoff target '" + map.NanoffTarget + "' is built without Bluetooth"));
        }

        foreach (var dup in map.Signals.GroupBy(s => s.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            v.Add(new Violation(Schema, "signal name " + dup.Key + " appears " + dup.Count() + " times"));
        }
    }

    private static void CheckFields(Signal s, List<Violation> v)
    {
        var at = "signal " + s.Name;
        if (!Directions.Contains(s.Direction))
        {
            v.Add(new Violation(Schema, at + ": unknown direction '" + s.Direction + "'"));
        }

        if (Roles.TryGetValue(s.Direction, out var roles) ? !roles.Contains(s.Role) : s.Role is not null)
        {
            v.Add(new Violation(Schema, at + ": role '" + s.Role + "' does not fit direction '" + s.Direction + "'"));
        }

        if (s.Direction is "uart" or "spi" or "i2c" && string.IsNullOrWhiteSpace(s.Bus))
        {
            v.Add(new Violation(Schema, at + ": a " + s.Direction + " signal names its bus (e.g. COM3, SPI1, I2C1)"));
        }

        if (!Pulls.Contains(s.Pull))
        {
            v.Add(new Violation(Schema, at + ": unknown pull '" + s.Pull + "'"));
        }

        var levelled = s.Direction is "in" or "out" or "pwm";
        if (levelled ? s.Active is not ("high" or "low") : s.Active != "none")
        {
            v.Add(new Violation(Schema, at + ": active must be " + (levelled ? "high or low" : "none") + " for direction '" + s.Direction + "'"));
        }

        if (s.Wake is not null && (s.Direction != "in" || s.Wake != s.Active))
        {
            v.Add(new Violation(Schema, at + ": wake must be an input's active level"));
        }

        if (string.IsNullOrWhiteSpace(s.Part) || string.IsNullOrWhiteSpace(s.ConnectsTo))
        {
            v.Add(new Violation(Connection, at + ": every signal names the part it connects to ('part') and how ('connects_to')"));
        }
    }

    private static void CheckAnalog(PinMap map, ChipRule chip, Signal s, int gpio, string name, List<Violation> v)
    {
        if (s.Direction != "analog")
        {
            if (s.AdcChannel is not null)
            {
                v.Add(new Violation(Schema, name + ": adc_channel on a non-analog signal"));
            }

            return;
        }

        if (chip.Adc1.TryGetValue(gpio, out var channel))
        {
            if (s.AdcChannel != channel)
            {
                v.Add(new Violation(AdcChannel, name + " is ADC1 channel " + channel + ", not " + (s.AdcChannel?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(missing)")));
            }
        }
        else if (chip.Adc2.ContainsKey(gpio))
        {
            var blocker = map.Radios.FirstOrDefault(chip.Adc2BlockedBy.Contains);
            v.Add(chip.Adc2BlockedBy.Contains("always")
                ? new Violation(Adc2Radio, name + " is on ADC2, which is unusable on " + chip.Id + " (chip errata); use an ADC1 pin")
                : blocker is null
                    ? new Violation(AdcChannel, name + " is on ADC2; analog signals are mapped to ADC1 channels only")
                    : new Violation(Adc2Radio, name + " is on ADC2, which " + chip.Id + " cannot read while " + blocker + " is on; use an ADC1 pin"));
        }
        else
        {
            v.Add(new Violation(AdcCapable, name + " has no ADC on " + chip.Id));
        }
    }

    private static void CheckBuses(PinMap map, List<Violation> v)
    {
        foreach (var bus in map.Signals.Where(s => s.Direction is "uart" or "spi" or "i2c" or "usb")
                     .GroupBy(s => s.Direction + ":" + (s.Bus ?? "usb"), StringComparer.Ordinal))
        {
            var direction = bus.First().Direction;
            var needed = direction == "spi" ? ["sck"] : Roles[direction];
            foreach (var role in needed.Where(r => bus.Count(s => s.Role == r) != 1))
            {
                v.Add(new Violation(BusPair, bus.Key + " needs exactly one '" + role + "' signal"));
            }
        }
    }

    private static void CheckBom(PinMap map, Bom bom, List<Violation> v)
    {
        if (!bom.TryGet(map.ModuleRef, out var row) || row.Mpn != map.Module)
        {
            v.Add(new Violation(ModuleInBom, "board ref " + map.ModuleRef + " must be a BOM row with part number " + map.Module));
        }

        foreach (var s in map.Signals.Where(s => !string.IsNullOrWhiteSpace(s.Part) && !bom.TryGet(s.Part, out _)))
        {
            v.Add(new Violation(PartInBom, "signal " + s.Name + " connects to " + s.Part + ", which is not in bom.csv"));
        }
    }
}
