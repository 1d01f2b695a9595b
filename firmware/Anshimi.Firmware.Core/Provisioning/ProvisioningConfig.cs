namespace Anshimi.Firmware.Provisioning
{
    /// <summary>What an unclaimed device knows from the factory: its id, its claim secret, its key pair's private half, what it is.</summary>
    public sealed class ProvisioningConfig
    {
        public ProvisioningConfig(uint deviceId, byte[] claimSecret, byte[] factoryPrivateKey, string profile, string firmwareVersion)
        {
            DeviceId = deviceId;
            ClaimSecret = claimSecret;
            FactoryPrivateKey = factoryPrivateKey;
            Profile = profile;
            FirmwareVersion = firmwareVersion;
        }

        public uint DeviceId { get; }

        /// <summary>The claim code on the label, normalized, as ASCII bytes (protocol/README.md §9). Secret.</summary>
        public byte[] ClaimSecret { get; }

        /// <summary>
        /// The factory X25519 private key (32 bytes) in flash; its public half is printed on the label, and only
        /// this key opens the credentials (protocol/README.md §9). Secret: never leaves the device.
        /// </summary>
        public byte[] FactoryPrivateKey { get; }

        public string Profile { get; }

        public string FirmwareVersion { get; }

        public int HelloIntervalMs { get; set; } = 5000;

        public int PublishTimeoutMs { get; set; } = 2000;

        /// <summary>Answers buffered between ticks; more are dropped and counted.</summary>
        public int MaxQueuedMessages { get; set; } = 8;
    }
}
