using System;
using System.Device.Adc;
using System.Device.Gpio;
using System.Diagnostics;
using System.Threading;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol.Security;
using Anshimi.Streetlight.Adapters;

namespace Anshimi.Streetlight
{
    /// <summary>
    /// The streetlight controller's main loop: build the HAL from the board's pins, then tick the portable
    /// <see cref="StreetlightController"/> every 20 ms for ever. Everything the light does is in that class.
    /// </summary>
    public static class Program
    {
        private const int TickMs = 20;

        public static void Main()
        {
            var storage = new FlashStorage("I:\\anshimi");
            StreetlightConfig? config = LightIdentity.Load(storage);
            if (config == null)
            {
                // Not provisioned: touch no pin. The dimming input stays open, the relay released and the
                // watchdog input floating (disabled), so the lamp burns at full light until an installer provisions it.
                Debug.WriteLine("anshimi: no identity entry; lamp left at full light");
                Thread.Sleep(Timeout.Infinite);
                return;
            }

            var gpio = new GpioController();
            var adc = new AdcController();
            var controller = new StreetlightController(
                config,
                new DeviceClock(),
                new PwmDimmer(StreetlightPins.DIM_PWM, StreetlightPins.DIM_PWM_FREQUENCY_HZ),
                new GpioOutput(gpio, StreetlightPins.LAMP_CUTOFF),
                new AdcInput(adc, StreetlightPins.AMBIENT_LIGHT_ADC_CHANNEL),
                new AdcRmsInput(adc, StreetlightPins.LAMP_CURRENT_ADC_CHANNEL),
                new BleRadio(),
                new GpioWatchdog(gpio, StreetlightPins.WDT_FEED),
                storage,
                new HmacSha256());

            while (true)
            {
                try
                {
                    controller.Tick();
                }
                catch (Exception ex)
                {
                    // A failed tick does not feed the watchdog; if it keeps failing, the supervisor resets the chip.
                    Debug.WriteLine("anshimi: tick failed: " + ex.Message);
                }

                Thread.Sleep(TickMs);
            }
        }
    }
}
