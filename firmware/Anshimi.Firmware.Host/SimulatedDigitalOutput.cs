using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>An output pin; <see cref="Release"/> is a reset, after which the board's pull-down holds it inactive.</summary>
public sealed class SimulatedDigitalOutput : IDigitalOutput
{
    private volatile bool _active;

    public bool Active => _active;

    public void Write(bool active) => _active = active;

    public void Release() => _active = false;
}
