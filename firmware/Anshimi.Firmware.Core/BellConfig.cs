using Anshimi.Protocol;

namespace Anshimi.Firmware
{
    /// <summary>One panic bell's identity and tuning. Defaults suit a mains-powered home or shop bell.</summary>
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
    }
}
