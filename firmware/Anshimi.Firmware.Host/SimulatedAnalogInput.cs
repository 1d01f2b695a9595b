using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>An analog input (ambient light, a draining battery) whose reading a test or the simulator sets; <see cref="Failing"/> makes every read throw, as a dead ADC would.</summary>
public sealed class SimulatedAnalogInput : IAnalogInput
{
    private long _bits;

    public SimulatedAnalogInput(double value = 0)
    {
        Value = value;
    }

    /// <summary>The reading, a fraction of full scale.</summary>
    public double Value
    {
        get => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _bits));
        set => Interlocked.Exchange(ref _bits, BitConverter.DoubleToInt64Bits(value));
    }

    public bool Failing { get; set; }

    public double Read() => Failing ? throw new IOException("ADC read failed (simulated)") : Value;
}
