using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A PIR motion sensor's digital output: high while it sees motion. Like the real sensor it reports
/// each change at once, stamped on the device clock; <see cref="Pulse"/> plays one retrigger window.
/// </summary>
public sealed class SimulatedPir(ISchedulingClock clock) : IButtonInput
{
    private readonly SimulatedButton _output = new(clock);

    public event ButtonChangedHandler? ButtonChanged
    {
        add => _output.ButtonChanged += value;
        remove => _output.ButtonChanged -= value;
    }

    public bool IsPressed => _output.IsPressed;

    public bool Motion => _output.IsPressed;

    public void StartMotion() => _output.Hold();

    public void StopMotion() => _output.Release();

    /// <summary>Output high for <paramref name="durationMs"/>, then low.</summary>
    public void Pulse(int durationMs) => _output.Press(durationMs);
}
