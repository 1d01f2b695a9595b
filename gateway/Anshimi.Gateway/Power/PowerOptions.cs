using System.ComponentModel.DataAnnotations;

namespace Anshimi.Gateway.Power;

/// <summary>
/// Power supervision of the gateway box, bound from "Power". Defaults are those of a Waveshare UPS HAT (B): an
/// INA219 at 0x42 on I2C bus 1 in series with a 2S 18650 pack (8.4 V full), 0.1 Ω shunt, current positive while
/// charging. Off unless a sensor is chosen.
/// </summary>
public sealed class PowerOptions : IValidatableObject
{
    public const string SectionName = "Power";
    public const string NoSensor = "none";
    public const string Ina219Sensor = "ina219";
    public const string SimulatedSensor = "simulated";

    /// <summary><c>none</c>, <c>ina219</c> (the UPS HAT on the Pi) or <c>simulated</c> (tests, the demo).</summary>
    public string Sensor { get; set; } = NoSensor;

    /// <summary>I2C bus: 1 is <c>/dev/i2c-1</c>, SDA GPIO2 / SCL GPIO3 on the 40-pin header.</summary>
    public int BusId { get; set; } = 1;

    /// <summary>The INA219's 7-bit address (0x40–0x4F by its A0/A1 straps; 0x42 on the UPS HAT (B)).</summary>
    public int Address { get; set; } = 0x42;

    public double ShuntOhms { get; set; } = 0.1;

    /// <summary>Current per bit of the INA219's current register; with the shunt it sets the calibration value.</summary>
    public double CurrentLsbAmperes { get; set; } = 0.0001;

    /// <summary>How often the battery is read.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A change (mains, low, critical) must hold this long before it counts: a relay click or a load step is not an outage.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The pack discharging by more than this means the box runs on battery: mains is lost.</summary>
    public double MainsLostAmperes { get; set; } = 0.1;

    /// <summary>Below this the battery is low (Contact ID 302); about 3.5 V a cell, some 15 % left.</summary>
    public double LowBatteryVolts { get; set; } = 7.0;

    /// <summary>Low battery is restored only at or above this, so a sagging pack does not flap.</summary>
    public double LowBatteryRestoreVolts { get; set; } = 7.4;

    /// <summary>On battery at or below this the box shuts down cleanly; about 3.3 V a cell, above the pack's 3.0 V cut-off.</summary>
    public double CriticalVolts { get; set; } = 6.6;

    /// <summary>Failed reads in a row before the sensor itself is reported (Contact ID 330).</summary>
    public int SensorFailures { get; set; } = 3;

    /// <summary>Run after the stores are flushed; the program and its arguments, separated by spaces.</summary>
    public string ShutdownCommand { get; set; } = "systemctl poweroff";

    /// <summary>The INA219's calibration register (datasheet equation 1: 0.04096 / (current LSB × shunt)).</summary>
    public ushort Calibration => (ushort)Math.Clamp(Math.Truncate(0.04096 / (CurrentLsbAmperes * ShuntOhms)), 0, ushort.MaxValue);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Sensor is not (NoSensor or Ina219Sensor or SimulatedSensor))
        {
            yield return Fail($"Sensor must be '{NoSensor}', '{Ina219Sensor}' or '{SimulatedSensor}', got '{Sensor}'", nameof(Sensor));
        }

        if (BusId < 0)
        {
            yield return Fail($"BusId must be an I2C bus number such as 1, got {BusId}", nameof(BusId));
        }

        if (Address is < 0x40 or > 0x4F)
        {
            yield return Fail($"Address must be an INA219 address 0x40–0x4F (64–79), got {Address}", nameof(Address));
        }

        if (!(ShuntOhms > 0) || !(CurrentLsbAmperes > 0) || 0.04096 / (CurrentLsbAmperes * ShuntOhms) is < 1 or > 65534)
        {
            yield return Fail($"ShuntOhms ({ShuntOhms}) and CurrentLsbAmperes ({CurrentLsbAmperes}) must be positive and give a calibration value of 1–65534", nameof(ShuntOhms));
        }

        if (Interval <= TimeSpan.Zero || Debounce < TimeSpan.Zero)
        {
            yield return Fail("Interval must be positive and Debounce not negative", nameof(Interval));
        }

        if (!(MainsLostAmperes > 0))
        {
            yield return Fail($"MainsLostAmperes must be positive, got {MainsLostAmperes}", nameof(MainsLostAmperes));
        }

        if (!(CriticalVolts > 0 && CriticalVolts < LowBatteryVolts && LowBatteryVolts <= LowBatteryRestoreVolts))
        {
            yield return Fail($"Voltages must rise from CriticalVolts ({CriticalVolts}) to LowBatteryVolts ({LowBatteryVolts}) to LowBatteryRestoreVolts ({LowBatteryRestoreVolts})", nameof(CriticalVolts));
        }

        if (SensorFailures < 1)
        {
            yield return Fail($"SensorFailures must be at least 1, got {SensorFailures}", nameof(SensorFailures));
        }

        if (string.IsNullOrWhiteSpace(ShutdownCommand))
        {
            yield return Fail("ShutdownCommand must name a program such as systemctl poweroff", nameof(ShutdownCommand));
        }
    }

    private static ValidationResult Fail(string message, string member) => new($"{SectionName}:{member}: {message}", [member]);
}
