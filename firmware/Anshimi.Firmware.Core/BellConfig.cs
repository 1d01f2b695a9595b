using Anshimi.Firmware.Bells;
using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>
    /// One panic bell's identity and tuning. Defaults suit a mains-powered home bell; <see cref="BellProfiles"/>
    /// sets up each profile (home, shop, voice, battery).
    /// </summary>
    public sealed class BellConfig
    {
        public BellConfig(uint deviceId, byte[] key)
        {
            DeviceId = deviceId;
            Key = key;
        }

        public uint DeviceId { get; }

        /// <summary>The 32-byte frame key from provisioning; signs uplinks and verifies acks.</summary>
        public byte[] Key { get; }

        /// <summary>
        /// The frame version the bell speaks (protocol/README.md §10): 2, sealed frames with rotating ids, what every new
        /// bell ships with; 1 only models a bell whose firmware has not been updated yet (its gateway still serves and flags it).
        /// </summary>
        public byte FrameVersion { get; set; } = FrameCodecV2.Version;

        /// <summary>Contact ID zone of the button.</summary>
        public ushort Zone { get; set; } = 1;

        public ushort EventCode { get; set; } = ContactIdCode.Panic;

        /// <summary>The raw pin must hold a level this long before it counts: an edge sooner after the previous one is bounce.</summary>
        public int DebounceMs { get; set; } = 30;

        /// <summary>A deliberate press: held at least this long. Shorter presses do nothing.</summary>
        public int LongPressMs { get; set; } = 1500;

        public int HeartbeatIntervalMs { get; set; } = 15000;

        public int ResendInitialMs { get; set; } = 1000;

        public int ResendMaxMs { get; set; } = 30000;

        /// <summary>LED turns Failed when the newest alarm has no gateway receipt after this long.</summary>
        public int FailedAfterMs { get; set; } = 30000;

        /// <summary>Alarms awaiting gateway receipt that survive a reboot; presses beyond this are refused.</summary>
        public int MaxPendingAlarms { get; set; } = 16;

        /// <summary>Frame counters reserved per flash write.</summary>
        public int CounterBlockSize { get; set; } = 256;

        /// <summary>
        /// Longest the device loop waits on the broker at a time: for one heartbeat, one subscription,
        /// or one round of alarm sends, which all pending alarms share.
        /// </summary>
        public int PublishTimeoutMs { get; set; } = 2000;

        /// <summary>Downlink messages buffered between ticks; more are dropped and counted.</summary>
        public int MaxQueuedDownlinks { get; set; } = 32;

        /// <summary>
        /// Button edges buffered between ticks (a bouncy press is a few dozen); beyond this the newest
        /// edge replaces the last queued one and the loss is counted.
        /// </summary>
        public int MaxQueuedButtonEdges { get; set; } = 64;
    

        /// <summary>The profile name the gateway supervises by: home, shop, voice or battery.</summary>
        public string Profile { get; set; } = BellProfiles.Home;

        /// <summary>
        /// Silent mode: the panic button raises 122 silent panic and the bell shows nothing for it, not even
        /// when help is confirmed (the person pressing may be watched).
        /// </summary>
        public bool SilentMode { get; set; }

        /// <summary>Contact ID zone of the wired auxiliary panic input.</summary>
        public ushort AuxZone { get; set; } = 2;

        /// <summary>What the auxiliary input raises: 120, or 122 for a silent button under a shop counter.</summary>
        public ushort AuxEventCode { get; set; } = ContactIdCode.Panic;

        /// <summary>Contact ID zone of a spoken keyword.</summary>
        public ushort VoiceZone { get; set; } = 2;

        /// <summary>Command words of the voice module and the events they raise; an empty list ignores the module.</summary>
        public VoiceKeyword[] VoiceKeywords { get; set; } = new VoiceKeyword[0];

        /// <summary>The same keyword heard again within this time is the same call for help, not a new alarm.</summary>
        public int VoiceRepeatMs { get; set; } = 10000;

        /// <summary>Zone of the device's own troubles: tamper, mains, battery and the periodic test.</summary>
        public ushort SystemZone { get; set; }

        /// <summary>The lid switch must hold a level this long before it counts.</summary>
        public int TamperDebounceMs { get; set; } = 500;

        /// <summary>Mains must stay away (or back) this long before it counts, so a flicker raises nothing.</summary>
        public int MainsDebounceMs { get; set; } = 3000;

        /// <summary>302 low battery on a mains-backed bell, 384 RF low battery on a battery bell.</summary>
        public ushort LowBatteryCode { get; set; } = ContactIdCode.LowBattery;

        /// <summary>ADC reading of an empty battery (0 %), in 12-bit counts (<see cref="TroubleMonitor.BatteryFullScaleRaw"/>).</summary>
        public int BatteryEmptyRaw { get; set; } = 1189;

        /// <summary>ADC reading of a full battery (100 %), in 12-bit counts.</summary>
        public int BatteryFullRaw { get; set; } = 2114;

        /// <summary>Low battery at or below this percentage.</summary>
        public int LowBatteryPercent { get; set; } = 20;

        /// <summary>Restored only at or above this percentage: the gap is the hysteresis.</summary>
        public int BatteryRestorePercent { get; set; } = 30;

        /// <summary>Readings in a row that must agree before low battery or its restore is reported.</summary>
        public int BatteryConfirmSamples { get; set; } = 3;

        public int BatterySampleIntervalMs { get; set; } = 60000;

        /// <summary>Periodic test (602) interval; also the proof of life of a bell that is otherwise silent.</summary>
        public long PeriodicTestIntervalMs { get; set; } = 24L * 60 * 60 * 1000;

        /// <summary>How long the broker may be unreachable before pending alarms also go out over BLE.</summary>
        public int BleFallbackAfterMs { get; set; } = 10000;

        /// <summary>Advertising interval during a burst.</summary>
        public int BleAdvertisingIntervalMs { get; set; } = 100;

        /// <summary>How long each frame is advertised in a burst (about ten advertising events).</summary>
        public int BleBurstMs { get; set; } = 1000;

        /// <summary>Wait after the first unanswered burst; doubles up to <see cref="BleRetryMaxMs"/>.</summary>
        public int BleRetryInitialMs { get; set; } = 2000;

        public int BleRetryMaxMs { get; set; } = 60000;

        /// <summary>Battery bell: sleep between events, wake on the button, tamper switch or timer.</summary>
        public bool DeepSleep { get; set; }

        /// <summary>A BLE-only bell's heartbeat interval; it sleeps in between.</summary>
        public long CheckInIntervalMs { get; set; } = 60L * 60 * 1000;

        /// <summary>Shortest time awake after a wake, so contacts settle and a press can become deliberate.</summary>
        public int MinAwakeMs { get; set; } = 2000;

        /// <summary>How long a battery bell stays awake bursting an unanswered alarm before it sleeps until the next retry.</summary>
        public int AlarmAwakeMs { get; set; } = 45000;

        /// <summary>Awake time after a timer wake to retry unanswered alarms: one burst round and listening for the ack.</summary>
        public int RetryAwakeMs { get; set; } = 5000;

        /// <summary>Longest deep sleep between retries of unanswered alarms; the sleeps double up to it across wakes.</summary>
        public long RetrySleepMaxMs { get; set; } = 15L * 60 * 1000;

        /// <summary>The watchdog restarts the device when the loop has not run for this long.</summary>
        public int WatchdogTimeoutMs { get; set; } = 30000;
    }
}
