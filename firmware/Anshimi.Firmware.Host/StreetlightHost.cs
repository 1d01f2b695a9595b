namespace Anshimi.Firmware.Host;

/// <summary>
/// Runs one <see cref="SimulatedStreetlight"/> the way the device's main loop does: a dedicated thread that ticks
/// its current firmware every few milliseconds (after a watchdog reset, the freshly booted one). A tick that throws
/// is reported and the loop carries on; such a tick does not feed the watchdog, so a loop that keeps failing ends
/// in a reset, as on the device.
/// </summary>
public sealed class StreetlightHost : IDisposable
{
    private readonly Thread _thread;
    private readonly int _tickMs;
    private readonly Action<Exception>? _onError;
    private readonly ManualResetEventSlim _stop = new();

    public StreetlightHost(SimulatedStreetlight light, int tickMs = 20, Action<Exception>? onError = null)
    {
        Light = light;
        _tickMs = tickMs;
        _onError = onError;
        _thread = new Thread(Run) { IsBackground = true, Name = "streetlight" };
    }

    public SimulatedStreetlight Light { get; }

    public void Start() => _thread.Start();

    /// <summary>Stops the loop after the current tick and waits for it.</summary>
    public void Stop()
    {
        _stop.Set();
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        Light.PowerOff();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsSet)
        {
            try
            {
                Light.Controller.Tick();
            }
            catch (Exception ex)
            {
                _onError?.Invoke(ex);
            }

            _stop.Wait(_tickMs);
        }
    }
}
