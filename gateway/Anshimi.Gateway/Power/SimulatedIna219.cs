using System.Buffers.Binary;
using System.Device.I2c;

namespace Anshimi.Gateway.Power;

/// <summary>
/// An INA219 on an I2C bus, for machines without one (tests, the demo): the registers of TI's datasheet
/// (SBOS448) behind a register pointer, 16-bit and big-endian — configuration (0x00, reset value 0x399F, RST
/// self-clearing), shunt voltage (0x01, 10 µV, two's complement, clipped to the PGA range), bus voltage (0x02,
/// bits 15–3 at 4 mV, CNVR bit 1, OVF bit 0), power (0x03 = current × bus / 5000), current (0x04 = shunt ×
/// calibration / 4096) and calibration (0x05, bit 0 void; current and power read 0 until it is set).
/// The measured values come from a <see cref="ScriptedBattery"/> through a shunt; <see cref="Unplugged"/>
/// makes every transfer fail as Linux reports a device that does not acknowledge.
/// </summary>
public sealed class SimulatedIna219(I2cConnectionSettings settings, ScriptedBattery battery, double shuntOhms) : I2cDevice
{
    private const ushort ResetConfiguration = 0x399F;
    private const ushort ResetBit = 0x8000;

    private readonly Lock _lock = new();
    private readonly List<(byte Register, ushort Value)> _writes = [];
    private ushort _configuration = ResetConfiguration;
    private ushort _calibration;
    private byte _pointer;

    public override I2cConnectionSettings ConnectionSettings { get; } = settings;

    /// <summary>When set, the chip no longer answers: every transfer throws <see cref="IOException"/>.</summary>
    public bool Unplugged { get; set; }

    /// <summary>Register writes in order (register, value), as the chip received them.</summary>
    public IReadOnlyList<(byte Register, ushort Value)> Writes
    {
        get
        {
            lock (_lock)
            {
                return [.. _writes];
            }
        }
    }

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        lock (_lock)
        {
            Answer();
            Span<byte> register = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(register, RegisterValue(_pointer));
            for (int i = 0; i < buffer.Length; i++)
            {
                // Reading on past the two bytes repeats the register, as the chip does.
                buffer[i] = register[i % 2];
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            Answer();
            if (buffer.Length == 0)
            {
                return;
            }

            if (buffer[0] > 0x05)
            {
                throw new IOException($"Error 121 performing I2C data transfer: INA219 has no register 0x{buffer[0]:X2}");
            }

            _pointer = buffer[0];
            if (buffer.Length < 3)
            {
                return;
            }

            ushort value = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(1, 2));
            _writes.Add((_pointer, value));
            switch (_pointer)
            {
                case 0x00 when (value & ResetBit) != 0:
                    _configuration = ResetConfiguration;
                    _calibration = 0;
                    break;
                case 0x00:
                    _configuration = value;
                    break;
                case 0x05:
                    _calibration = (ushort)(value & 0xFFFE);
                    break;
            }
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    private void Answer()
    {
        if (Unplugged)
        {
            throw new IOException($"Error 121 performing I2C data transfer (no answer from 0x{ConnectionSettings.DeviceAddress:X2} on bus {ConnectionSettings.BusId})");
        }
    }

    private ushort RegisterValue(byte register)
    {
        (double volts, double amperes) = battery.Now();
        short shunt = ShuntRegister(amperes);
        int bus = (int)Math.Clamp(Math.Round(volts / 0.004), 0, BusFullScale() / 0.004);
        short current = (short)Math.Clamp(shunt * _calibration / 4096, short.MinValue, short.MaxValue);
        return register switch
        {
            0x00 => _configuration,
            0x01 => (ushort)shunt,
            0x02 => (ushort)((bus << 3) | 0b10),
            0x03 => (ushort)Math.Min(Math.Abs(current) * bus / 5000, ushort.MaxValue),
            0x04 => (ushort)current,
            _ => _calibration,
        };
    }

    /// <summary>The shunt drop in 10 µV steps, clipped to the PGA's range (±40 mV × 1, 2, 4 or 8).</summary>
    private short ShuntRegister(double amperes)
    {
        int gain = 1 << ((_configuration >> 11) & 0b11);
        int limit = 4000 * gain;
        return (short)Math.Clamp(Math.Round(amperes * shuntOhms / 0.00001), -limit, limit);
    }

    private double BusFullScale() => (_configuration & 0x2000) != 0 ? 32.0 : 16.0;
}
