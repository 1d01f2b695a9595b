namespace Anshimi.Firmware.Host;

/// <summary>
/// The device's main loop on a host thread: ticks the device logic every few milliseconds. A tick that
/// throws is reported and the loop carries on, as a watchdog-reset device would. When the device's simulated power goes
/// away the loop ends where it is, as the chip's would.
/// </summary>
public sealed class DeviceLoop : IDisposable
{
    private readonly Action _tick;
    private readonly Thread _thread;
    private readonly int _tickMs;
    private readonly Action<Exception>? _onError;
    private readonly ManualResetEventSlim _stop = new();
    private readonly PowerCut? _power;

    public DeviceLoop(string name, Action tick, int tickMs = 15, Action<Exception>? onError = null, PowerCut? power = null)
    {
        _tick = tick;
        _power = power;
        _tickMs = tickMs;
        _onError = onError;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    public void Start() => _thread.Start();

    /// <summary>Stops the loop after the current tick and waits for it; safe to call again.</summary>
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
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsSet && _power?.IsOff != true)
        {
            try
            {
                _tick();
            }
            catch (PowerCutException)
            {
                return;
            }
            catch (Exception ex)
            {
                _onError?.Invoke(ex);
            }

            _stop.Wait(_tickMs);
        }
    }
}
