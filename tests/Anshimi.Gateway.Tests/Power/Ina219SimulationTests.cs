using System.Buffers.Binary;
using System.Device.I2c;
using Anshimi.Gateway.Power;
using Iot.Device.Adc;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Power;

/// <summary>dotnet/iot's real <see cref="Ina219"/> binding over the simulated chip's registers.</summary>
public sealed class Ina219SimulationTests
{
    private static readonly I2cConnectionSettings UpsHat = new(1, 0x42);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 3, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(8.30, 0.50)]
    [InlineData(7.42, 1.25)]
    [InlineData(12.0, 0.0)]
    public void The_binding_reads_the_scripted_bus_voltage_and_charging_current(double volts, double amperes)
    {
        var chip = new SimulatedIna219(UpsHat, new ScriptedBattery(_time, new BatteryPoint(TimeSpan.Zero, volts, amperes)), 0.1);
        using var ina219 = new Ina219(chip);
        ina219.Reset();
        ina219.SetCalibration(4096, 0.0001f);

        Assert.Equal(volts, ina219.ReadBusVoltage().Volts, 0.004);
        Assert.Equal(amperes * 0.1, ina219.ReadShuntVoltage().Volts, 0.00001);
        Assert.Equal(amperes, ina219.ReadCurrent().Amperes, 0.0001);
        Assert.Equal(volts * amperes, (double)ina219.ReadPower().Watts, 0.01);
    }

    [Fact]
    public void Registers_are_big_endian_and_laid_out_as_the_datasheet_says()
    {
        var chip = new SimulatedIna219(UpsHat, new ScriptedBattery(_time, new BatteryPoint(TimeSpan.Zero, 8.2, -0.8)), 0.1);
        Span<byte> two = stackalloc byte[2];

        chip.WriteRead([0x00], two);
        Assert.Equal(0x399F, BinaryPrimitives.ReadUInt16BigEndian(two));

        chip.WriteRead([0x02], two);
        Assert.Equal((2050 << 3) | 0b10, BinaryPrimitives.ReadUInt16BigEndian(two));

        chip.WriteRead([0x01], two);
        Assert.Equal(-8000, BinaryPrimitives.ReadInt16BigEndian(two));

        // Current and power stay 0 until calibration is written; bit 0 of calibration is void.
        chip.WriteRead([0x04], two);
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(two));
        chip.Write([0x05, 0x10, 0x01]);
        chip.WriteRead([0x05], two);
        Assert.Equal(0x1000, BinaryPrimitives.ReadUInt16BigEndian(two));
        chip.WriteRead([0x04], two);
        Assert.Equal(-8000, BinaryPrimitives.ReadInt16BigEndian(two));
        chip.WriteRead([0x03], two);
        Assert.Equal(8000 * 2050 / 5000, BinaryPrimitives.ReadUInt16BigEndian(two));

        // Writing RST restores every register's reset value.
        chip.Write([0x00, 0x80, 0x00]);
        chip.WriteRead([0x05], two);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(two));
        Assert.Throws<IOException>(() => chip.Write([0x06]));
    }

    [Fact]
    public void The_shunt_voltage_clips_at_the_programmed_gain_range()
    {
        var chip = new SimulatedIna219(UpsHat, new ScriptedBattery(_time, new BatteryPoint(TimeSpan.Zero, 8.0, 5.0)), 0.1);
        Span<byte> two = stackalloc byte[2];

        chip.WriteRead([0x01], two);
        Assert.Equal(32000, BinaryPrimitives.ReadInt16BigEndian(two));

        chip.Write([0x00, 0x01, 0x9F]);
        chip.WriteRead([0x01], two);
        Assert.Equal(4000, BinaryPrimitives.ReadInt16BigEndian(two));
    }

    [Fact]
    public void The_ups_battery_reads_a_discharge_as_a_negative_current()
    {
        var chip = new SimulatedIna219(UpsHat, new ScriptedBattery(_time, new BatteryPoint(TimeSpan.Zero, 7.6, -0.8)), 0.1);
        using var battery = new UpsBattery(() => chip, new PowerOptions());

        BatteryReading reading = battery.Read();

        Assert.Equal(7.6, reading.Volts, 0.004);
        Assert.Equal(-0.8, reading.Amperes, 0.0001);
        Assert.Contains(((byte)0x00, (ushort)0x8000), chip.Writes);
        Assert.Contains(((byte)0x05, (ushort)4096), chip.Writes);
    }

    [Fact]
    public void The_script_steps_and_falls_linearly_on_the_clock()
    {
        var battery = new ScriptedBattery(
            _time,
            new BatteryPoint(TimeSpan.Zero, 8.3, 0.2),
            new BatteryPoint(TimeSpan.FromMinutes(1), 8.3, 0.2),
            new BatteryPoint(TimeSpan.FromMinutes(1), 8.0, -1.0),
            new BatteryPoint(TimeSpan.FromMinutes(11), 7.0, -1.0));

        Assert.Equal((8.3, 0.2), battery.Now());
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal((8.0, -1.0), battery.Now());
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(7.5, battery.Now().Volts, 1e-9);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal((7.0, -1.0), battery.Now());
    }

    [Fact]
    public void An_unplugged_chip_fails_like_a_device_that_does_not_acknowledge()
    {
        var chip = new SimulatedIna219(UpsHat, ScriptedBattery.OnMains(_time), 0.1) { Unplugged = true };
        using var battery = new UpsBattery(() => chip, new PowerOptions());

        PowerSensorException error = Assert.Throws<PowerSensorException>(() => battery.Read());

        Assert.Contains("0x42", error.Message, StringComparison.Ordinal);
        Assert.Contains("bus 1", error.Message, StringComparison.Ordinal);
    }
}
