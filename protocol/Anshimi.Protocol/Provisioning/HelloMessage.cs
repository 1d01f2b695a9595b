namespace Anshimi.Protocol.Provisioning
{
    /// <summary>
    /// An unclaimed device announcing itself on <c>anshimi/v1/prov/{id}/hello</c> (protocol/README.md §9).
    /// The tag proves knowledge of the claim code on the device's label; the public key is the factory
    /// key printed beside it, which the credentials are sealed to.
    /// </summary>
    public sealed class HelloMessage
    {
        public HelloMessage(uint deviceId, byte[] nonce, byte[] publicKey, string profile, string firmwareVersion)
        {
            DeviceId = deviceId;
            Nonce = nonce;
            PublicKey = publicKey;
            Profile = profile;
            FirmwareVersion = firmwareVersion;
        }

        public uint DeviceId { get; }

        /// <summary>16 random bytes, new at every power-up; credentials must echo them.</summary>
        public byte[] Nonce { get; }

        /// <summary>The device's factory X25519 public key (32 bytes), as on its label.</summary>
        public byte[] PublicKey { get; }

        /// <summary>The device profile, e.g. <c>home-panic</c>.</summary>
        public string Profile { get; }

        public string FirmwareVersion { get; }
    }
}
