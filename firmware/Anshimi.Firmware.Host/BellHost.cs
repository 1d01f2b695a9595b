namespace Anshimi.Firmware.Host;

/// <summary>
/// Runs one <see cref="PanicBell"/> the way the device's main loop does, on a <see cref="DeviceLoop"/>.
/// The button does not depend on this loop: its edges are queued with their time stamps as they happen,
/// so a tick held up by the network or a busy CPU only delays the alarm, never loses the press.
/// </summary>
public sealed class BellHost : IDisposable
{
    private readonly DeviceLoop _loop;

    /// <param name="power">The simulated power supply, whose cut ends the loop.</param>
    public BellHost(PanicBell bell, int tickMs = 15, Action<Exception>? onError = null, PowerCut? power = null)
    {
        Bell = bell;
        _loop = new DeviceLoop("bell", bell.Tick, tickMs, onError, power);
    }

    public PanicBell Bell { get; }

    public void Start() => _loop.Start();

    /// <summary>Stops the loop after the current tick and waits for it.</summary>
    public void Stop() => _loop.Stop();

    public void Dispose() => _loop.Dispose();
}
