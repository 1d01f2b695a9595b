using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>A PWM pin that remembers its duty, and whether anything drives it at all (a chip reset releases it).</summary>
public sealed class SimulatedPwm : IPwmOutput
{
    private readonly Lock _lock = new();
    private double _duty;
    private bool _driven;

    public double Duty
    {
        get
        {
            lock (_lock)
            {
                return _duty;
            }
        }
    }

    /// <summary>False before the first <see cref="SetDuty"/> and after <see cref="Release"/>: the pin floats low.</summary>
    public bool Driven
    {
        get
        {
            lock (_lock)
            {
                return _driven;
            }
        }
    }

    public int Writes { get; private set; }

    public void SetDuty(double duty)
    {
        lock (_lock)
        {
            _duty = duty < 0 ? 0 : duty > 1 ? 1 : duty;
            _driven = true;
            Writes++;
        }
    }

    /// <summary>What a reset does to the pin: the PWM peripheral stops and the pin is no longer driven.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _driven = false;
            _duty = 0;
        }
    }
}
