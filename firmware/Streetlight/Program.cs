using System;
using System.Device.Adc;
using System.Device.Gpio;
using System.Diagnostics;
using System.Threading;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol.Security;
using Anshimi.Streetlight.Adapters;
using nanoFramework.Runtime.Native;

namespace Anshimi.Streetlight
{
    /// <summary>
    /// The streetlight controller's main loop, started by the loader from its application slot: build the HAL from the
    /// board's pins, then tick the portable <see cref="StreetlightController"/> and its update side (the gateway's BLE
    /// carousel, <see cref="CarouselReceiver"/>) every 20 ms for ever. Everything the light does is in those classes.
    /// </summary>
    public static class Program
    {
        private const int TickMs = 20;

        /// <summary>The streetlight's <c>hardware/</c> board and its profile (protocol/README.md §11.1).</summary>
        private const string Board = "streetlight";

        public static void Main()
        {
            var storage = new FlashStorage(FlashDrive.Directory);
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
            var clock = new DeviceClock();
            var radio = new BleRadio();
            var controller = new StreetlightController(
                config,
                clock,
                new PwmDimmer(StreetlightPins.DIM_PWM, StreetlightPins.DIM_PWM_FREQUENCY_HZ),
                new GpioOutput(gpio, StreetlightPins.LAMP_CUTOFF),
                new AdcInput(adc, StreetlightPins.AMBIENT_LIGHT_ADC_CHANNEL),
                new AdcRmsInput(adc, StreetlightPins.LAMP_CURRENT_ADC_CHANNEL),
                radio,
                new GpioWatchdog(gpio, StreetlightPins.WDT_FEED),
                storage,
                new HmacSha256());

            // The carousel arrives on the light's own radio: the receiver reads it, the client keeps and switches slots.
            var files = new FlashFiles(FlashDrive.Directory, FlashDrive.Bytes);
            ReleaseKeys keys = CityReleaseKeys.Trusted();
            var loader = new SlotLoader(storage, files, keys);
            BootResult boot = loader.ReadRunning();
            var receiver = new CarouselReceiver(config.LightId, config.Key, radio, clock, storage, keys, boot, new HmacSha256(), new CarouselReceiverSettings());
            var updates = new ApplicationUpdates(receiver, boot, loader, keys, files, storage, clock, controller, Board, Board, new UpdateClientSettings());
            receiver.Attach(updates.Client);

            while (true)
            {
                try
                {
                    controller.Tick();
                    receiver.Tick();
                    updates.Tick();
                    if (updates.RestartRequested && receiver.MayRestart)
                    {
                        Power.RebootDevice();
                    }
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
