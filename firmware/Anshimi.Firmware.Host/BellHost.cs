using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// Runs one <see cref="PanicBell"/> the way the device's main loop does: a dedicated thread that
/// ticks it every few milliseconds. The button does not depend on this loop: its edges are queued
/// with their time stamps as they happen, so a tick held up by the network or a busy CPU only delays
/// the alarm, never loses the press. A tick that throws is reported and the loop carries on, as a
/// watchdog-reset device would.
/// </summary>
public sealed class BellHost : IDisposable
{
    private readonly Thread _thread;
    private readonly int _tickMs;
    private readonly Action<Exception>? _onError;
    private readonly ManualResetEventSlim _stop = new();

    public BellHost(PanicBell bell, int tickMs = 15, Action<Exception>? onError = null)
    {
        Bell = bell;
        _tickMs = tickMs;
        _onError = onError;
        _thread = new Thread(Run) { IsBackground = true, Name = "bell" };
    }

    public PanicBell Bell { get; }

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
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsSet)
        {
            try
            {
                Bell.Tick();
            }
            catch (Exception ex)
            {
                _onError?.Invoke(ex);
            }

            _stop.Wait(_tickMs);
        }
    }
}
