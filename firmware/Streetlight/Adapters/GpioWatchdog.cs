using System.Device.Gpio;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>
    /// Feeds the TPS3823 supervisor (hardware/streetlight/wiring.md): every feed is an edge on its WDI input. The
    /// supervisor resets the chip when no edge comes within its timeout (0.9 s minimum), and stays disabled until
    /// this adapter first drives the pin.
    /// </summary>
    public sealed class GpioWatchdog : IWatchdog
    {
        private readonly GpioPin _pin;

        public GpioWatchdog(GpioController gpio, int pin)
        {
            _pin = gpio.OpenPin(pin, PinMode.Output);
        }

        public void Feed()
        {
            _pin.Toggle();
        }
    }
}
