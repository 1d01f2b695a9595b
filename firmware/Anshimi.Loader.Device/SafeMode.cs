using System.Device.Gpio;
using System.Diagnostics;
using System.Threading;
using Anshimi.Bell.Device;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol.Security;
using Anshimi.Streetlight.Adapters;
using nanoFramework.Runtime.Native;

namespace Anshimi.Loader.Device
{
    /// <summary>
    /// What the loader runs when no slot loads (protocol/README.md §11.3): the board's own link as provisioning left it
    /// — a Wi-Fi bell's or doorbell's broker session, a light's radio — and on it <see cref="ApplicationUpdates"/> alone,
    /// which reports <c>failed</c>/<c>bad_slot</c> after every connection and takes the next release the gateway offers,
    /// then restarts into it. A bell or doorbell shows its LED as failed, so the resident sees it cannot call for help;
    /// no heartbeat is sent, so the gateway's supervision reports the device silent. A light touches no pin: its lamp
    /// stays at full light and its external watchdog unfed (disabled), as the hardware leaves them.
    /// </summary>
    internal static class SafeMode
    {
        private const int TickMs = 50;
        private const int PublishTimeoutMs = 5000;
        private const int WifiJoinTimeoutMs = 30000;

        public static void Run(BootResult boot, SlotLoader loader, ReleaseKeys keys, FlashStorage records, FlashFiles files)
        {
            var clock = new DeviceClock();
            var hold = new NothingHeld();
            var settings = new UpdateClientSettings();
            ApplicationUpdates updates = null;
            Anshimi.Bell.Device.DeviceSettings bell = Anshimi.Bell.Device.DeviceSettings.Load(records);
            Anshimi.Doorbell.Device.DeviceSettings doorbell = Anshimi.Doorbell.Device.DeviceSettings.Load(records);
            StreetlightConfig light = LightIdentity.Load(records);
            if (bell != null && BellProfiles.IsKnown(bell.Profile) && BellBoard.ForProfile(bell.Profile).HasWifi)
            {
                BellBoard board = BellBoard.ForProfile(bell.Profile);
                new GpioStatusLed(new GpioController(), board.LedRed, board.LedGreen, board.LedBlue).Show(LedState.Failed);
                WifiStation.Join(bell.Ssid, bell.WifiPassword, WifiJoinTimeoutMs);
                var session = new M2MqttLink(bell.Broker, bell.Port, bell.DeviceId, bell.MqttPassword, clock, new DeviceRandom());
                var link = new MqttUpdateLink(session, bell.DeviceId, PublishTimeoutMs);
                updates = new ApplicationUpdates(link, boot, loader, keys, files, records, clock, hold, board.Device, bell.Profile, settings);
                link.DeliverTo(updates);
            }
            else if (doorbell != null)
            {
                new Anshimi.Doorbell.Device.RgbStatusLed(new GpioController()).Show(LedState.Failed);
                WifiStation.Join(doorbell.Ssid, doorbell.WifiPassword, WifiJoinTimeoutMs);
                var session = new M2MqttLink(doorbell.BrokerHost, doorbell.BrokerPort, doorbell.DeviceId, doorbell.MqttPassword, clock, new DeviceRandom());
                var link = new MqttUpdateLink(session, doorbell.DeviceId, PublishTimeoutMs);
                updates = new ApplicationUpdates(link, boot, loader, keys, files, records, clock, hold, "doorbell", "doorbell", settings);
                link.DeliverTo(updates);
            }
            else if (light != null)
            {
                var receiver = new CarouselReceiver(light.LightId, light.Key, new BleRadio(), clock, records, keys, boot, new HmacSha256(), new CarouselReceiverSettings());
                updates = new ApplicationUpdates(receiver, boot, loader, keys, files, records, clock, hold, "streetlight", "streetlight", settings);
                receiver.Attach(updates.Client);
                while (true)
                {
                    receiver.Tick();
                    Step(updates);
                }
            }

            if (updates == null)
            {
                // Not provisioned (a battery bell never gets here: the installer repairs it over USB).
                Debug.WriteLine("anshimi loader: no slot loads and no link is provisioned; waiting for the installer");
                Thread.Sleep(Timeout.Infinite);
            }

            while (true)
            {
                Step(updates);
            }
        }

        private static void Step(ApplicationUpdates updates)
        {
            updates.Tick();
            if (updates.RestartRequested)
            {
                Power.RebootDevice();
            }

            Thread.Sleep(TickMs);
        }

        /// <summary>In safe mode nothing can be pending: no application runs to raise an alarm.</summary>
        private sealed class NothingHeld : IUpdateHold
        {
            public bool HoldsUpdate
            {
                get { return false; }
            }
        }
    }
}
