namespace Anshimi.Firmware.Hal
{
    /// <summary>One PWM channel at the frequency its board configuration fixes.</summary>
    public interface IPwmOutput
    {
        /// <summary>Duty cycle from 0.0 (off) to 1.0 (always on); values outside are clamped by the caller.</summary>
        void SetDutyCycle(double duty);
    }
}
