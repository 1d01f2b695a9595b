using System.Device.Gpio;
using System.Device.Pwm;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// The chime's PWM channel into the PAM8302A amplifier, which is shut down (SD low, 1 µA) whenever the
    /// duty cycle is 0, so the speaker is silent and idle current stays low between rings.
    /// </summary>
    public sealed class PwmChime : IPwmOutput
    {
        private readonly PwmChannel _pwm;
        private readonly GpioPin _ampEnable;

        public PwmChime(GpioController gpio)
        {
            _ampEnable = gpio.OpenPin(DoorbellPins.AmpEnable, PinMode.Output);
            _ampEnable.Write(PinValue.Low);
            _pwm = PwmChannel.CreateFromPin(DoorbellPins.ChimePwm, DoorbellPins.ChimePwmFrequencyHz, 0.0);
            _pwm.Start();
        }

        public void SetDuty(double duty)
        {
            double clamped = duty < 0.0 ? 0.0 : duty > 1.0 ? 1.0 : duty;
            _pwm.DutyCycle = clamped;
            _ampEnable.Write(clamped > 0.0 ? PinValue.High : PinValue.Low);
        }
    }
}
