using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Host;

/// <summary>
/// A whole simulated streetlight board: lamp driver, ambient sensor, radio, watchdog and flash, with the
/// <see cref="StreetlightController"/> firmware on it and, when built with <see cref="StreetlightFirmware"/>, its loader
/// and update stack (<see cref="StreetlightUpdates"/>). When the watchdog expires the board resets as the real one
/// does: every pin is released (so the lamp goes to full light) and, unless <see cref="RebootOnReset"/> is off,
/// the firmware boots again from the same flash; a restart the update client asks for does the same.
/// </summary>
public sealed class SimulatedStreetlight
{
    private readonly StreetlightConfig _config;
    private readonly ISchedulingClock _clock;
    private readonly IHmacSha256 _mac;
    private readonly StreetlightFirmware? _firmware;

    /// <param name="firmware">The loader's slots and keys: with it, every boot runs the loader and the light takes the gateway's carousel.</param>
    public SimulatedStreetlight(StreetlightConfig config, ISchedulingClock clock, SimulatedBleRadio radio, IDeviceStorage storage, IHmacSha256 mac, double ambient = 0.5, int watchdogTimeoutMs = 5000, StreetlightFirmware? firmware = null)
    {
        _config = config;
        _clock = clock;
        _mac = mac;
        _firmware = firmware;
        Radio = radio;
        Storage = storage;
        Ambient = new SimulatedAnalogInput(ambient);
        Watchdog = new SimulatedWatchdog(clock, watchdogTimeoutMs);
        Watchdog.Expired += OnWatchdogExpired;
        Controller = Boot();
    }

    /// <summary>Raised after a watchdog reset released the pins (and, with <see cref="RebootOnReset"/>, booted the firmware again).</summary>
    public event Action? WasReset;

    public SimulatedLampDriver Lamp { get; } = new();

    public SimulatedAnalogInput Ambient { get; }

    public SimulatedBleRadio Radio { get; }

    public SimulatedWatchdog Watchdog { get; }

    public IDeviceStorage Storage { get; }

    public StreetlightConfig Config => _config;

    public StreetlightController Controller { get; private set; }

    /// <summary>This boot's loader and update stack; null for a board built without <see cref="StreetlightFirmware"/>.</summary>
    public StreetlightUpdates? Updates { get; private set; }

    public bool RebootOnReset { get; set; } = true;

    public int Resets { get; private set; }

    /// <summary>A power cycle: radio and pins reset, firmware boots from flash.</summary>
    public StreetlightController PowerCycle()
    {
        Radio.Reset();
        Lamp.ReleasePins();
        Controller = Boot();
        return Controller;
    }

    /// <summary>One pass of the light's main loop: the controller, then its update stack; a restart it asks for happens here.</summary>
    public void Tick()
    {
        StreetlightController controller = Controller;
        StreetlightUpdates? updates = Updates;
        controller.Tick();
        if (updates is null)
        {
            return;
        }

        updates.Tick();
        if (updates.RestartRequested && ReferenceEquals(updates, Updates))
        {
            PowerCycle();
        }
    }

    /// <summary>Power off for good: the watchdog stops, and nothing boots again from storage that may be gone.</summary>
    public void PowerOff()
    {
        RebootOnReset = false;
        Watchdog.Stop();
    }

    private StreetlightController Boot()
    {
        var controller = new StreetlightController(_config, _clock, Lamp.Dimmer, Lamp.Cutoff, Ambient, Lamp.CurrentSense, Radio, Watchdog, Storage, _mac);
        Updates = _firmware is null
            ? null
            : new StreetlightUpdates(_config, Radio, _clock, Storage, _firmware.Files, _firmware.Keys, _mac, StreetlightUpdates.HoldOf(() => controller), _firmware.Client, _firmware.Carousel);
        return controller;
    }

    private void OnWatchdogExpired()
    {
        Resets++;
        Radio.Reset();
        Lamp.ReleasePins();
        if (RebootOnReset)
        {
            Controller = Boot();
        }

        WasReset?.Invoke();
    }
}
