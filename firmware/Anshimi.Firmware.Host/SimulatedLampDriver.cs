using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The lamp side of the streetlight as hardware/streetlight/wiring.md wires it: the dimming optocoupler on a PWM
/// pin (duty high = darker, undriven = full light), the cut-off relay on a pin (energised = lamp unpowered;
/// released, the normally-closed contact powers the driver) and the current sensor in the driver's supply.
/// </summary>
public sealed class SimulatedLampDriver
{
    /// <summary>RMS current-sense reading (fraction of full scale) of a healthy lamp at full light, and its driver's floor when lit.</summary>
    public const double FullCurrent = 0.30;
    public const double IdleCurrent = 0.06;

    public SimulatedLampDriver()
    {
        CurrentSense = new LampCurrentSense(this);
    }

    public SimulatedPwm Dimmer { get; } = new();

    public SimulatedDigitalOutput Cutoff { get; } = new();

    public IAnalogInput CurrentSense { get; }

    /// <summary>A failed lamp (or LED module) draws no current whatever it is told.</summary>
    public bool LampBroken { get; set; }

    /// <summary>The light coming out, in percent.</summary>
    public double Level => Cutoff.Active ? 0 : Dimmer.Driven ? (1 - Dimmer.Duty) * 100 : 100;

    /// <summary>A chip reset: every pin floats, so the relay releases and the dimming input is left open.</summary>
    public void ReleasePins()
    {
        Dimmer.Release();
        Cutoff.Release();
    }

    private sealed class LampCurrentSense(SimulatedLampDriver lamp) : IAnalogInput
    {
        public double Read()
        {
            double level = lamp.Level;
            return lamp.LampBroken || level <= 0 ? 0 : IdleCurrent + ((FullCurrent - IdleCurrent) * level / 100);
        }
    }
}
