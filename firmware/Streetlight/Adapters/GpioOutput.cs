using System.Device.Gpio;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>An output pin, active high (the relay driver and the LED on this board).</summary>
    public sealed class GpioOutput : IDigitalOutput
    {
        private readonly GpioPin _pin;

        public GpioOutput(GpioController gpio, int pin)
        {
            _pin = gpio.OpenPin(pin, PinMode.Output);
        }

        public void Write(bool active)
        {
            _pin.Write(active ? PinValue.High : PinValue.Low);
        }
    }
}
