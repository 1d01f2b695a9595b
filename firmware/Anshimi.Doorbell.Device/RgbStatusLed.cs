using System.Device.Gpio;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>The indoor RGB status LED: the emergency alarm's state as a colour (blue sending, green received, white help on the way, red failed).</summary>
    public sealed class RgbStatusLed : IStatusLed
    {
        private readonly GpioPin _red;
        private readonly GpioPin _green;
        private readonly GpioPin _blue;

        public RgbStatusLed(GpioController gpio)
        {
            _red = gpio.OpenPin(DoorbellPins.LedRed, PinMode.Output);
            _green = gpio.OpenPin(DoorbellPins.LedGreen, PinMode.Output);
            _blue = gpio.OpenPin(DoorbellPins.LedBlue, PinMode.Output);
        }

        public void Show(LedState state)
        {
            bool red = state == LedState.Failed || state == LedState.Acknowledged;
            bool green = state == LedState.ReceivedByGateway || state == LedState.Acknowledged;
            bool blue = state == LedState.Sending || state == LedState.Acknowledged;
            _red.Write(red ? PinValue.High : PinValue.Low);
            _green.Write(green ? PinValue.High : PinValue.Low);
            _blue.Write(blue ? PinValue.High : PinValue.Low);
        }
    }
}
