using Anshimi.Protocol;

namespace Anshimi.Firmware.Bells
{
    /// <summary>
    /// The four panic-bell profiles as configurations of the one core. The profile name travels in the
    /// fleet/registry entry and picks both the configuration and the board (<see cref="BellBoard.ForProfile"/>).
    /// </summary>
    public static class BellProfiles
    {
        public const string Home = "home";
        public const string Shop = "shop";
        public const string Voice = "voice";
        public const string Battery = "battery";

        /// <summary>
        /// Heartbeat of a mains bell: EN 50136 class T6 wants a path failure known within 20 s, and
        /// heartbeats go at QoS 0, so one may be lost and the next still arrives inside the window.
        /// </summary>
        public const int MainsHeartbeatMs = 8000;

        /// <summary>DF2301Q learned command word 1 (id 5): "살려주세요" (help me), a panic.</summary>
        public const int KeywordHelp = 5;

        /// <summary>DF2301Q learned command word 2 (id 6): a harmless-sounding code word the resident chose, a duress alarm.</summary>
        public const int KeywordCodeWord = 6;

        public static bool IsKnown(string profile)
        {
            return profile == Home || profile == Shop || profile == Voice || profile == Battery;
        }

        /// <summary>The configuration of <paramref name="profile"/>; unknown names are an error, never a silent default.</summary>
        public static BellConfig For(string profile, uint deviceId, byte[] key)
        {
            var config = new BellConfig(deviceId, key);
            config.Profile = profile;
            if (profile == Home || profile == Shop || profile == Voice)
            {
                // Wi-Fi and mains: MQTT, BLE only as a fallback for alarms.
                config.HeartbeatIntervalMs = MainsHeartbeatMs;
                config.LowBatteryCode = ContactIdCode.LowBattery;

                // Li-ion backup cell through a 1:2 divider: 3.4 V (where the LDO drops out) to 4.2 V at
                // the cell, nominal 12-bit readings; calibrated on the first prototype.
                config.BatteryEmptyRaw = 2110;
                config.BatteryFullRaw = 2606;
                if (profile == Shop)
                {
                    // The wired button under the counter is the silent one: nothing shows, nothing sounds.
                    config.AuxEventCode = ContactIdCode.SilentPanic;
                }
                else if (profile == Voice)
                {
                    config.VoiceKeywords = new VoiceKeyword[]
                    {
                        new VoiceKeyword(KeywordHelp, ContactIdCode.Panic),
                        new VoiceKeyword(KeywordCodeWord, ContactIdCode.Duress),
                    };
                }

                return config;
            }

            if (profile == Battery)
            {
                config.DeepSleep = true;
                config.LowBatteryCode = ContactIdCode.RfLowBattery;
                config.BleFallbackAfterMs = 0;

                // The battery is read once per wake, before the radio starts; the hysteresis band keeps
                // a single reading from flapping.
                config.BatteryConfirmSamples = 1;

                // Two Li-FeS2 AA cells through a 1:2 divider: 1.8 V (the converter's cut-off) to 3.2 V,
                // nominal 12-bit readings of the ESP32-S3 at 12 dB attenuation.
                config.BatteryEmptyRaw = 1189;
                config.BatteryFullRaw = 2114;
                config.CheckInIntervalMs = 60L * 60 * 1000;
                return config;
            }

            throw new System.ArgumentException("unknown bell profile: " + profile);
        }
    }
}
