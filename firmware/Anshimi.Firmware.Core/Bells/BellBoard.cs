namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// Where a bell's parts sit on its board, as <c>hardware/&lt;device&gt;/pins.json</c> says (a test checks
    /// every value against it). GPIO numbers as <c>GpioController.OpenPin</c> takes them; -1 = not fitted.
    /// </summary>
    public sealed class BellBoard
    {
        public const int None = -1;

        /// <summary>Home and shop bell: ESP32-WROOM-32E, mains with a Li-ion backup cell, Wi-Fi with BLE fallback.</summary>
        public static readonly BellBoard HomeBell = MainsBoard("home-bell").WithAuxPanic(pin: 26, activeLow: true);

        /// <summary>Voice bell: the home bell's board with a DF2301Q on COM3.</summary>
        public static readonly BellBoard VoiceBell = MainsBoard("voice-bell").WithVoiceModule(tx: 17, rx: 16, port: "COM3", baud: 9600);

        /// <summary>Battery bell: ESP32-S3-MINI, two lithium AA cells, BLE only, deep sleep between events.</summary>
        public static readonly BellBoard BatteryBell = new BellBoard("battery-bell")
        {
            HasWifi = false,
            PanicButton = 4,
            PanicActiveLow = true,
            PanicWakes = true,
            Tamper = 5,
            TamperActiveLow = true,
            TamperWakes = true,
            BatterySense = 1,
            BatteryAdcChannel = 0,
            LedRed = 6,
            LedGreen = 7,
        };

        private BellBoard(string device)
        {
            Device = device;
        }

        /// <summary>The folder under hardware/.</summary>
        public string Device { get; }

        public bool HasWifi { get; private set; }

        public int PanicButton { get; private set; } = None;

        public bool PanicActiveLow { get; private set; }

        public bool PanicWakes { get; private set; }

        public int AuxPanic { get; private set; } = None;

        public bool AuxActiveLow { get; private set; }

        /// <summary>Lid switch; active = lid open.</summary>
        public int Tamper { get; private set; } = None;

        public bool TamperActiveLow { get; private set; }

        public bool TamperWakes { get; private set; }

        /// <summary>Mains-present sense input (high while mains is present).</summary>
        public int MainsSense { get; private set; } = None;

        public int BatterySense { get; private set; } = None;

        public int BatteryAdcChannel { get; private set; } = None;

        public int LedRed { get; private set; } = None;

        public int LedGreen { get; private set; } = None;

        public int LedBlue { get; private set; } = None;

        public int VoiceTx { get; private set; } = None;

        public int VoiceRx { get; private set; } = None;

        public string VoicePort { get; private set; } = "";

        public int VoiceBaud { get; private set; }

        public static BellBoard[] All
        {
            get { return new BellBoard[] { HomeBell, VoiceBell, BatteryBell }; }
        }

        /// <summary>The pins the home and voice bells share: one board, fitted with the aux button or the voice module.</summary>
        private static BellBoard MainsBoard(string device)
        {
            return new BellBoard(device)
            {
                HasWifi = true,
                PanicButton = 27,
                PanicActiveLow = true,
                Tamper = 25,
                TamperActiveLow = false,
                MainsSense = 34,
                BatterySense = 35,
                BatteryAdcChannel = 7,
                LedRed = 21,
                LedGreen = 22,
                LedBlue = 23,
            };
        }

        private BellBoard WithAuxPanic(int pin, bool activeLow)
        {
            AuxPanic = pin;
            AuxActiveLow = activeLow;
            return this;
        }

        private BellBoard WithVoiceModule(int tx, int rx, string port, int baud)
        {
            VoiceTx = tx;
            VoiceRx = rx;
            VoicePort = port;
            VoiceBaud = baud;
            return this;
        }

        /// <summary>The board a profile runs on: home and shop share one.</summary>
        public static BellBoard ForProfile(string profile)
        {
            if (profile == BellProfiles.Home || profile == BellProfiles.Shop)
            {
                return HomeBell;
            }

            if (profile == BellProfiles.Voice)
            {
                return VoiceBell;
            }

            if (profile == BellProfiles.Battery)
            {
                return BatteryBell;
            }

            throw new System.ArgumentException("unknown bell profile: " + profile);
        }
    }
}
