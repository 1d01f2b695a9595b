using System.Device.Gpio;
using System.Device.Wifi;
using System.Threading;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Ota;
using Anshimi.Protocol.Security;
using nanoFramework.Hardware.Esp32;
using nanoFramework.Networking;
using nanoFramework.Runtime.Native;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// The smart doorbell's firmware (스마트초인종): wires the board (hardware/doorbell/pins.json) to the portable
    /// <see cref="SmartDoorbell"/> and runs its loop beside its update side, started by the loader from its application
    /// slot. Everything the doorbell decides lives in the portable code; this file only adapts nanoFramework's APIs.
    /// </summary>
    public static class Program
    {
        private const int TickMs = 15;
        private const int WifiTimeoutMs = 30000;
        private const int UpdateTimeoutMs = 5000;

        /// <summary>The doorbell's <c>hardware/</c> board and its profile (protocol/README.md §11.1).</summary>
        private const string Board = "doorbell";

        public static void Main()
        {
            // The ESP32-S3 routes SPI, I2C and PWM through its GPIO matrix: name the pins before opening the buses.
            Configuration.SetPinFunction(DoorbellPins.CamMosi, DeviceFunction.SPI1_MOSI);
            Configuration.SetPinFunction(DoorbellPins.CamMiso, DeviceFunction.SPI1_MISO);
            Configuration.SetPinFunction(DoorbellPins.CamSck, DeviceFunction.SPI1_CLOCK);
            Configuration.SetPinFunction(DoorbellPins.CamSda, DeviceFunction.I2C1_DATA);
            Configuration.SetPinFunction(DoorbellPins.CamScl, DeviceFunction.I2C1_CLOCK);
            Configuration.SetPinFunction(DoorbellPins.ChimePwm, DeviceFunction.PWM1);

            var clock = new DeviceClock();
            var storage = new FlashStorage(FlashDrive.Directory);
            var gpio = new GpioController();
            var led = new RgbStatusLed(gpio);
            DeviceSettings settings = DeviceSettings.Load(storage);
            if (settings == null)
            {
                // Not provisioned: show "failed" and wait for the installer's service cable.
                led.Show(Anshimi.Firmware.Hal.LedState.Failed);
                Thread.Sleep(Timeout.Infinite);
            }

            // Wi-Fi reconnects by itself after this; SNTP sets the clock for time stamps (timing uses the monotonic clock).
            var wifiTimeout = new CancellationTokenSource(WifiTimeoutMs);
            WifiNetworkHelper.ConnectDhcp(settings.Ssid, settings.WifiPassword, WifiReconnectionKind.Automatic, requiresDateTime: true, token: wifiTimeout.Token);

            var config = new DoorbellConfig(settings.DeviceId, settings.Key);
            var link = new M2MqttLink(settings.BrokerHost, settings.BrokerPort, settings.DeviceId, settings.MqttPassword, clock, new DeviceRandom());
            var doorbell = new SmartDoorbell(
                config,
                clock,
                new GpioInput(gpio, DoorbellPins.RingButton, PinMode.InputPullUp, false, clock),
                new GpioInput(gpio, DoorbellPins.EmergencyButton, PinMode.InputPullUp, false, clock),
                new GpioInput(gpio, DoorbellPins.PirOut, PinMode.InputPullDown, true, clock),
                new GpioInput(gpio, DoorbellPins.OutdoorTamper, PinMode.InputPullUp, true, clock),
                new PwmChime(gpio),
                new ArducamCamera(storage.Read("ov2640-jpeg") ?? new byte[0], clock),
                led,
                storage,
                link,
                new HmacSha256(),
                new DeviceRandom());
            GpioPin ringLed = gpio.OpenPin(DoorbellPins.RingLed, PinMode.Output);
            var files = new FlashFiles(FlashDrive.Directory, FlashDrive.Bytes);
            ReleaseKeys keys = CityReleaseKeys.Trusted();
            var loader = new SlotLoader(storage, files, keys);
            var updateLink = new MqttUpdateLink(link, settings.DeviceId, UpdateTimeoutMs);
            var updates = new ApplicationUpdates(
                updateLink, loader.ReadRunning(), loader, keys, files, storage, clock, doorbell, Board, Board, new UpdateClientSettings());
            updateLink.DeliverTo(updates);

            while (true)
            {
                doorbell.Tick();
                updates.Tick();
                if (updates.RestartRequested)
                {
                    Power.RebootDevice();
                }

                // The door station's LED answers the visitor while the chime plays.
                ringLed.Write(doorbell.ChimePlaying ? PinValue.High : PinValue.Low);
                Thread.Sleep(TickMs);
            }
        }
    }
}
