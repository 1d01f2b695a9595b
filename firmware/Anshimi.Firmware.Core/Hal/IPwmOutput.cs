namespace Anshimi.Firmware.Hal
{
    /// <summary>
    /// One PWM output pin. On the doorbell it drives the chime amplifier; on the streetlight the dimming optocoupler, where a higher duty gives a
    /// darker lamp: a pin that is not driven at all (reset, crash, no firmware) leaves the lamp at full light.
    /// </summary>
    public interface IPwmOutput
    {
        /// <summary>Sets the duty cycle, 0.0 (always low) to 1.0 (always high); values outside are clamped.</summary>
        void SetDuty(double duty);
    }
}
