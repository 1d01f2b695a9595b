namespace Anshimi.Firmware.Host;

/// <summary>
/// Runs one <see cref="SimulatedStreetlight"/> the way the device's main loop does, on a <see cref="DeviceLoop"/>
/// that ticks its current firmware (after a watchdog reset or an update's restart, the freshly booted one) and its update stack. A tick that throws does not
/// feed the watchdog, so a loop that keeps failing ends in a reset, as on the device.
/// </summary>
public sealed class StreetlightHost : IDisposable
{
    private readonly DeviceLoop _loop;

    public StreetlightHost(SimulatedStreetlight light, int tickMs = 20, Action<Exception>? onError = null)
    {
        Light = light;

        // The board reads its firmware on every tick: a watchdog reset or an update's restart replaces it.
        _loop = new DeviceLoop("streetlight", light.Tick, tickMs, onError);
    }

    public SimulatedStreetlight Light { get; }

    public void Start() => _loop.Start();

    /// <summary>Stops the loop after the current tick and waits for it.</summary>
    public void Stop() => _loop.Stop();

    public void Dispose()
    {
        _loop.Stop();
        Light.PowerOff();
        _loop.Dispose();
    }
}
