namespace Anshimi.Gateway.Power;

/// <summary>What the UPS's battery does at one moment: pack voltage, and current (positive while charging).</summary>
public readonly record struct BatteryPoint(TimeSpan At, double Volts, double Amperes);

/// <summary>
/// A battery that follows a script over a clock, for the simulated INA219: points of (time since start, volts,
/// amperes), linear in between, the last point held. Two points at the same time make a step (mains lost at
/// once). Deterministic: only the injected <see cref="TimeProvider"/> moves it.
/// </summary>
public sealed class ScriptedBattery
{
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _start;
    private readonly BatteryPoint[] _script;

    public ScriptedBattery(TimeProvider time, params BatteryPoint[] script)
    {
        if (script.Length == 0)
        {
            throw new ArgumentException("A battery script needs at least one point", nameof(script));
        }

        for (int i = 1; i < script.Length; i++)
        {
            if (script[i].At < script[i - 1].At)
            {
                throw new ArgumentException($"Battery script point {i} goes back in time", nameof(script));
            }
        }

        _time = time;
        _start = time.GetUtcNow();
        _script = script;
    }

    /// <summary>A 2S pack on mains, full and trickle charging: what the demo box shows.</summary>
    public static ScriptedBattery OnMains(TimeProvider time) => new(time, new BatteryPoint(TimeSpan.Zero, 8.30, 0.05));

    public (double Volts, double Amperes) Now()
    {
        TimeSpan t = _time.GetUtcNow() - _start;
        int next = Array.FindIndex(_script, p => p.At > t);
        if (next < 0)
        {
            return (_script[^1].Volts, _script[^1].Amperes);
        }

        if (next == 0)
        {
            return (_script[0].Volts, _script[0].Amperes);
        }

        BatteryPoint a = _script[next - 1];
        BatteryPoint b = _script[next];
        double f = (t - a.At) / (b.At - a.At);
        return (a.Volts + ((b.Volts - a.Volts) * f), a.Amperes + ((b.Amperes - a.Amperes) * f));
    }
}
