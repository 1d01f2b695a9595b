using System.Device.Gpio;
using System.Diagnostics;
using System.Threading;
using Anshimi.Firmware;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Security;
using nanoFramework.Hardware.Esp32;
using nanoFramework.Runtime.Native;

namespace Anshimi.Bell.Device
{
    /// <summary>
    /// The panic bell on an ESP32, started by the loader from its application slot: reads its settings, picks profile
    /// and board, wires the board's parts to the portable bell and runs its loop; a Wi-Fi bell also runs its update
    /// side over its broker session. Everything the bell does is in Anshimi.Firmware.Core.
    /// </summary>
    public static class Program
    {
        private const int TickMs = 15;
        private const int WifiJoinTimeoutMs = 30000;
        private const int UpdateTimeoutMs = 5000;

        public static void Main()
        {
            var clock = new DeviceClock();
            var storage = new FlashStorage(FlashDrive.Directory);
            DeviceSettings settings = DeviceSettings.Load(storage);
            if (settings == null || !BellProfiles.IsKnown(settings.Profile))
            {
                // Not provisioned: do nothing a resident could mistake for a working bell.
                Debug.WriteLine("anshimi: no valid settings entry; provision this bell first");
                Thread.Sleep(Timeout.Infinite);
            }

            BellConfig config = BellProfiles.For(settings.Profile, settings.DeviceId, settings.Key);
            BellBoard board = BellBoard.ForProfile(settings.Profile);
            var watchdog = new TimerWatchdog(config.WatchdogTimeoutMs);
            var gpio = new GpioController();

            // Mains boards pull their inputs up inside the chip; the battery board has resistors that also
            // hold in deep sleep.
            bool internalPullUp = board.HasWifi;
            var button = new GpioButton(gpio, board.PanicButton, board.PanicActiveLow, internalPullUp, clock);
            var peripherals = new BellPeripherals();
            peripherals.Watchdog = watchdog;
            peripherals.Radio = new NanoBleRadio();
            if (board.AuxPanic != BellBoard.None)
            {
                peripherals.AuxButton = new GpioButton(gpio, board.AuxPanic, board.AuxActiveLow, true, clock);
            }

            if (board.Tamper != BellBoard.None)
            {
                peripherals.Tamper = new GpioContact(gpio, board.Tamper, board.TamperActiveLow, internalPullUp);
            }

            if (board.MainsSense != BellBoard.None)
            {
                peripherals.Mains = new GpioContact(gpio, board.MainsSense, false, false);
            }

            if (board.BatterySense != BellBoard.None)
            {
                peripherals.Battery = new AdcInput(new System.Device.Adc.AdcController(), board.BatteryAdcChannel);
            }

            if (board.VoiceRx != BellBoard.None)
            {
                peripherals.Voice = new Df2301qVoiceModule(new SerialUartPort(board.VoicePort, board.VoiceRx, board.VoiceTx, board.VoiceBaud));
            }

            if (config.DeepSleep)
            {
                // WakeupGpioPin is a bit mask with bit n for GPIO n.
                peripherals.Sleep = new Esp32Sleep((Sleep.WakeupGpioPin)(1UL << board.PanicButton), (Sleep.WakeupGpioPin)(1UL << board.Tamper));
            }

            IMqttLink link = null;
            if (board.HasWifi)
            {
                // Without Wi-Fi the bell still runs: alarms fall back to BLE, and the station keeps reconnecting.
                WifiStation.Join(settings.Ssid, settings.WifiPassword, WifiJoinTimeoutMs);
                link = new M2MqttLink(settings.Broker, settings.Port, settings.DeviceId, settings.MqttPassword, clock, new DeviceRandom());
            }

            var led = new GpioStatusLed(gpio, board.LedRed, board.LedGreen, board.LedBlue);
            var bell = new PanicBell(config, clock, button, led, storage, link, new HmacSha256(), new DeviceRandom(), peripherals);

            // Battery bells speak only BLE: the installer updates them over USB (protocol/README.md §11.8).
            ApplicationUpdates updates = null;
            if (link != null)
            {
                var files = new FlashFiles(FlashDrive.Directory, FlashDrive.Bytes);
                ReleaseKeys keys = CityReleaseKeys.Trusted();
                var loader = new SlotLoader(storage, files, keys);
                var updateLink = new MqttUpdateLink(link, settings.DeviceId, UpdateTimeoutMs);
                updates = new ApplicationUpdates(
                    updateLink, loader.ReadRunning(), loader, keys, files, storage, clock, bell, board.Device, settings.Profile, new UpdateClientSettings());
                updateLink.DeliverTo(updates);
            }

            while (true)
            {
                bell.Tick();
                if (updates != null)
                {
                    updates.Tick();
                    if (updates.RestartRequested)
                    {
                        Power.RebootDevice();
                    }
                }

                Thread.Sleep(TickMs);
            }
        }
    }
}
