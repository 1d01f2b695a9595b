namespace Anshimi.Firmware.Streetlight
{
    /// <summary>One streetlight controller's identity, place and tuning. Defaults suit an alley light (스마트보안등).</summary>
    public sealed class StreetlightConfig
    {
        public StreetlightConfig(uint lightId, byte[] key, double latitude, double longitude)
        {
            LightId = lightId;
            Key = key;
            Latitude = latitude;
            Longitude = longitude;
        }

        public uint LightId { get; }

        /// <summary>
        /// The frame version of the light's beacons and its gateway's commands (protocol/README.md §10): 2, what every new
        /// light ships with; 1 only models a light not yet updated. Escort frames are read as their own rules say.
        /// </summary>
        public byte FrameVersion { get; set; } = Anshimi.Protocol.FrameCodecV2.Version;

        /// <summary>The light's own 32-byte key from provisioning: signs its beacons, verifies its gateway's commands.</summary>
        public byte[] Key { get; }

        public double Latitude { get; }

        public double Longitude { get; }

        /// <summary>Level in percent from dusk to dawn when nothing else is asked of the light.</summary>
        public int NightLevel { get; set; } = 70;

        /// <summary>Level in percent while escorting or in an emergency.</summary>
        public int FullLevel { get; set; } = 100;

        /// <summary>How fast the level follows its target: percent per second (100 % in 2 s by default).</summary>
        public int RampPercentPerSecond { get; set; } = 50;

        /// <summary>Escort blink: the level dips smoothly by this many percent once per period.</summary>
        public int EscortBlinkDepthPercent { get; set; } = 30;

        public int EscortBlinkPeriodMs { get; set; } = 2000;

        /// <summary>Emergency blink: full level and this level alternate, each for half the period.</summary>
        public int EmergencyLowLevel { get; set; } = 10;

        public int EmergencyBlinkPeriodMs { get; set; } = 1000;

        /// <summary>Escort lasts this long after the last escort advertisement heard in range.</summary>
        public int EscortHoldMs { get; set; } = 30000;

        /// <summary>Escort advertisements weaker than this are out of range (about 25–30 m with a phone in a pocket).</summary>
        public int EscortMinRssiDbm { get; set; } = -85;

        /// <summary>An escort frame's Unix minute may differ from the light's clock by at most this much.</summary>
        public int EscortClockToleranceMinutes { get; set; } = 2;

        /// <summary>
        /// Escort minutes per flash write of the escort floor: at most one write per block while escorts go on; after a power
        /// cut, escort advertisements up to the block's end are refused (the gateway's escort commands still work).
        /// </summary>
        public int EscortFloorBlockMinutes { get; set; } = 5;

        /// <summary>Escort sessions remembered at once; the one heard longest ago makes room for a new one.</summary>
        public int MaxEscortSessions { get; set; } = 8;

        /// <summary>Ambient sensor reading (fraction of full scale) below which it is dark.</summary>
        public double AmbientDarkBelow { get; set; } = 0.10;

        /// <summary>Ambient sensor reading above which it is light again: the gap is the hysteresis.</summary>
        public double AmbientLightAbove { get; set; } = 0.20;

        /// <summary>An ambient change must hold this long before it counts, so headlights or a passing cloud do nothing.</summary>
        public int AmbientHoldMs { get; set; } = 60000;

        /// <summary>The lamp comes on this many minutes before sunset and goes off this many after sunrise.</summary>
        public int SolarMarginMinutes { get; set; } = 15;

        /// <summary>Lamp current (fraction of the sensor's full scale, RMS) below which a lit lamp draws nothing.</summary>
        public double LampCurrentMin { get; set; } = 0.05;

        /// <summary>No current for this long while the lamp should be lit raises the lamp-fault bit.</summary>
        public int LampFaultAfterMs { get; set; } = 10000;

        /// <summary>Current back for this long clears the lamp-fault bit.</summary>
        public int LampRestoreAfterMs { get; set; } = 2000;

        /// <summary>A fresh beacon (new counter) at least this often, and at once when mode, level or fault changes.</summary>
        public int BeaconIntervalMs { get; set; } = 5000;

        /// <summary>The current beacon goes on air this often until the next replaces it (the device radio's scan-and-burst cycle).</summary>
        public int BeaconAdvertisingIntervalMs { get; set; } = 1000;

        /// <summary>Beacon counters reserved per flash write (a beacon every 5 s writes about once every 85 minutes).</summary>
        public int CounterBlockSize { get; set; } = 1024;

        /// <summary>Advertisements queued between two ticks; more are dropped and counted.</summary>
        public int MaxQueuedAdvertisements { get; set; } = 16;
    }
}
