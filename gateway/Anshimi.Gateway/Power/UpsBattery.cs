using System.Device.I2c;
using Iot.Device.Adc;

namespace Anshimi.Gateway.Power;

/// <summary>One reading of the UPS's battery: pack voltage, and current (positive while charging, negative on battery).</summary>
public readonly record struct BatteryReading(double Volts, double Amperes);

/// <summary>The battery sensor could not be read; the message names the bus, address and cause.</summary>
public sealed class PowerSensorException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The UPS HAT's battery through dotnet/iot's <see cref="Ina219"/> binding. The I2C device is opened on first use
/// and again after a failure (the chip may have lost power and with it its calibration), so a sensor that stops
/// answering is an error to report, never a crash.
/// </summary>
public sealed class UpsBattery(Func<I2cDevice> openDevice, PowerOptions options) : IDisposable
{
    private const double CurrentRegisterSpan = 65536;

    private readonly Lock _lock = new();
    private I2cDevice? _device;
    private Ina219? _ina219;

    /// <exception cref="PowerSensorException">The bus cannot be opened or the chip does not answer.</exception>
    public BatteryReading Read()
    {
        lock (_lock)
        {
            try
            {
                Ina219 ina219 = _ina219 ??= Configure(_device = openDevice());
                double volts = ina219.ReadBusVoltage().Volts;
                double amperes = ina219.ReadCurrent().Amperes;

                // The datasheet's current register is two's complement, but binding 4.2 scales it as unsigned:
                // a discharge of 0.8 A arrives as 5.75 A. Fold the upper half back to negative.
                double span = CurrentRegisterSpan * options.CurrentLsbAmperes;
                return new BatteryReading(volts, amperes >= span / 2 ? amperes - span : amperes);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Close();
                throw new PowerSensorException($"INA219 at 0x{options.Address:X2} on I2C bus {options.BusId} does not answer: {ex.Message}", ex);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            Close();
        }
    }

    private Ina219 Configure(I2cDevice device)
    {
        // The reset value is the UPS HAT's setting: 32 V bus range, ±320 mV shunt range, 12-bit, continuous.
        // The binding's shunt-ADC setter shifts its value into the bus-ADC bits, so the defaults are kept.
        var ina219 = new Ina219(device);
        ina219.Reset();
        ina219.SetCalibration(options.Calibration, (float)options.CurrentLsbAmperes);
        return ina219;
    }

    private void Close()
    {
        _ina219?.Dispose();
        _ina219 = null;
        _device?.Dispose();
        _device = null;
    }
}
