using System.Device.Pwm;
using Anshimi.Firmware.Hal;
using nanoFramework.Hardware.Esp32;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>The dimming optocoupler on an LEDC PWM channel. Started on the first duty, so until the controller
    /// decides the pin is not driven and the lamp stays at full light.</summary>
    public sealed class PwmDimmer : IPwmOutput
    {
        private readonly PwmChannel _channel;
        private bool _started;

        public PwmDimmer(int pin, int frequencyHz)
        {
            Configuration.SetPinFunction(pin, DeviceFunction.PWM1);
            _channel = PwmChannel.CreateFromPin(pin, frequencyHz, 0);
        }

        public void SetDuty(double duty)
        {
            _channel.DutyCycle = duty < 0 ? 0 : duty > 1 ? 1 : duty;
            if (!_started)
            {
                _channel.Start();
                _started = true;
            }
        }
    }
}
