using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>The chime's PWM channel: remembers each duty cycle it was set to and when.</summary>
public sealed class SimulatedChime(IClock clock) : IPwmOutput
{
    private readonly List<(long AtMs, double Duty)> _history = [];
    private readonly Lock _lock = new();

    public double Duty { get; private set; }

    public IReadOnlyList<(long AtMs, double Duty)> History
    {
        get
        {
            lock (_lock)
            {
                return _history.ToArray();
            }
        }
    }

    public void SetDuty(double duty)
    {
        lock (_lock)
        {
            Duty = duty;
            _history.Add((clock.MonotonicMs, duty));
        }
    }
}
