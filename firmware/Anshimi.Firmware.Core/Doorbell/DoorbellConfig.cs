using Anshimi.Protocol;

namespace Anshimi.Firmware.Doorbell
{
    /// <summary>One smart doorbell's identity and tuning (스마트초인종). Defaults suit the indoor unit with its door station.</summary>
    public sealed class DoorbellConfig
    {
        public DoorbellConfig(uint deviceId, byte[] key)
        {
            DeviceId = deviceId;
            Key = key;
        }

        public uint DeviceId { get; }

        /// <summary>The 32-byte frame key from provisioning; signs uplinks and verifies acks.</summary>
        public byte[] Key { get; }

        /// <summary>The frame version the doorbell speaks (protocol/README.md §10), as <see cref="BellConfig.FrameVersion"/>.</summary>
        public byte FrameVersion { get; set; } = FrameCodecV2.Version;

        public ushort EmergencyZone { get; set; } = 1;

        public ushort RingZone { get; set; } = 2;

        public ushort MotionZone { get; set; } = 3;

        public ushort TamperZone { get; set; } = 4;

        /// <summary>383 sensor tamper: the door station is a sensor outside the main unit.</summary>
        public ushort TamperCode { get; set; } = ContactIdCode.SensorTamper;

        public int DebounceMs { get; set; } = 30;

        /// <summary>The inside emergency button must be held this long: a brush against it is not a call for help.</summary>
        public int EmergencyHoldMs { get; set; } = 1500;

        /// <summary>Rings closer together than this chime again but make no new event or snapshot.</summary>
        public int RingRepeatMs { get; set; } = 5000;

        /// <summary>Motion for this long with no ring is loitering (suspicious visitor).</summary>
        public int LoiterMs { get; set; } = 30000;

        /// <summary>A PIR retriggers in pulses: motion within this gap of the last counts as still present.</summary>
        public int MotionGapMs { get; set; } = 5000;

        /// <summary>No motion for this long ends the episode; the next motion starts a new one that may raise loitering again.</summary>
        public int RearmQuietMs { get; set; } = 60000;

        public int HeartbeatIntervalMs { get; set; } = 15000;

        public int ResendInitialMs { get; set; } = 1000;

        public int ResendMaxMs { get; set; } = 30000;

        /// <summary>LED turns Failed when the emergency alarm has no gateway receipt after this long.</summary>
        public int FailedAfterMs { get; set; } = 30000;

        /// <summary>Events awaiting gateway receipt; the last two places are kept for the emergency button.</summary>
        public int MaxPendingEvents { get; set; } = 16;

        public int CounterBlockSize { get; set; } = 256;

        /// <summary>Longest the loop waits on the broker at a time; one round of sends shares it.</summary>
        public int PublishTimeoutMs { get; set; } = 2000;

        public int MaxQueuedDownlinks { get; set; } = 32;

        public int MaxQueuedEdges { get; set; } = 64;

        /// <summary>Snapshots kept in flash until the gateway's stage-4 ack; the oldest non-alarm one goes first when full.</summary>
        public int MaxPendingSnapshots { get; set; } = 4;

        /// <summary>Flash budget for pending snapshot images.</summary>
        public int MaxSnapshotBytes { get; set; } = 256 * 1024;

        /// <summary>Snapshot chunks sent per tick, so a large image does not hold the loop.</summary>
        public int ChunksPerTick { get; set; } = 8;

        /// <summary>After the last chunk, how long to wait for the stage-4 ack before sending the missing snapshot again (doubling, capped at <see cref="ResendMaxMs"/>).</summary>
        public int SnapshotAckTimeoutMs { get; set; } = 5000;
    }
}
