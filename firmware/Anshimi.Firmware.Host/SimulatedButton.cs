using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>A button pressed by scripts or the simulator's control API, timed on the bell's clock.</summary>
public sealed class SimulatedButton : IButtonInput
{
    private readonly IClock _clock;
    private long _pressedUntilMs = long.MinValue;
    private volatile bool _held;

    public SimulatedButton(IClock clock)
    {
        _clock = clock;
    }

    public bool IsPressed => _held || _clock.MonotonicMs < Interlocked.Read(ref _pressedUntilMs);

    /// <summary>Holds the button for <paramref name="durationMs"/> from now, then lets go.</summary>
    public void Press(int durationMs) => Interlocked.Exchange(ref _pressedUntilMs, _clock.MonotonicMs + durationMs);

    public void Hold() => _held = true;

    public void Release()
    {
        _held = false;
        Interlocked.Exchange(ref _pressedUntilMs, long.MinValue);
    }
}
