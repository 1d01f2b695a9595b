using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// The optional hardware of a bell beyond its panic button, LED, flash and MQTT link; what a profile's
    /// board has is set, the rest stays null. Which pins they sit on is <see cref="BellBoard"/>'s business.
    /// </summary>
    public sealed class BellPeripherals
    {
        /// <summary>A second, wired panic input (shop: under the counter), zone <see cref="BellConfig.AuxZone"/>.</summary>
        public IButtonInput? AuxButton { get; set; }

        /// <summary>Lid tamper switch; active = lid open.</summary>
        public IDigitalInput? Tamper { get; set; }

        /// <summary>Mains sense; active = mains present.</summary>
        public IDigitalInput? Mains { get; set; }

        /// <summary>Battery voltage through a divider.</summary>
        public IAnalogInput? Battery { get; set; }

        public IVoiceModule? Voice { get; set; }

        /// <summary>BLE for alarm bursts when no broker is reachable, acks heard in the gateway's advertisements, and check-ins of a BLE-only bell.</summary>
        public IBleRadio? Radio { get; set; }

        public IWatchdog? Watchdog { get; set; }

        /// <summary>Deep sleep of a battery bell (with <see cref="BellConfig.DeepSleep"/>).</summary>
        public ISleepController? Sleep { get; set; }
    }
}
