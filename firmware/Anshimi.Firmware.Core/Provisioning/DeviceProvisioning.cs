using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Provisioning
{
    /// <summary>Raised once the device holds its credentials; the application reconnects with them.</summary>
    public delegate void ProvisionedHandler(DeviceCredentials credentials);

    /// <summary>
    /// The unclaimed device's side of provisioning (protocol/README.md §9): announces a hello tagged
    /// with a key derived from its claim secret and carrying its factory public key, waits for the
    /// gateway's credentials sealed to that key, opens them with its factory private key (portable
    /// X25519, then the platform's HKDF and AES-GCM), and stores them in flash before reporting success.
    /// Anything malformed, foreign or not opening is dropped and counted. Messages arrive on the link's
    /// thread and are only queued; <see cref="Tick"/> does the work.
    /// </summary>
    public sealed class DeviceProvisioning
    {
        /// <summary>Flash entry holding <see cref="DeviceCredentials.ToBytes"/>.</summary>
        public const string CredentialsRecordName = "credentials";

        private readonly ProvisioningConfig _config;
        private readonly IClock _clock;
        private readonly IDeviceStorage _storage;
        private readonly IMqttLink _link;
        private readonly IProvisioningCipher _cipher;
        private readonly ProvisioningCodec _codec;
        private readonly byte[] _nonce;
        private readonly byte[] _publicKey = new byte[X25519.KeyLength];
        private readonly byte[] _shared = new byte[X25519.KeyLength];
        private readonly X25519 _x25519 = new X25519();
        private readonly byte[] _hello;
        private readonly string _credentialsTopic;
        private readonly string _helloTopic;
        private readonly object _lock = new object();
        private readonly PayloadRing _inbox;
        private bool _subscribed;
        private long _nextHelloMs;
        private DeviceCredentials? _credentials;

        public DeviceProvisioning(ProvisioningConfig config, IClock clock, IDeviceStorage storage, IMqttLink link, IProvisioningCipher cipher, IHmacSha256 mac, ISecureRandom random)
        {
            _config = config;
            _clock = clock;
            _storage = storage;
            _link = link;
            _cipher = cipher;
            _codec = new ProvisioningCodec(mac);
            _inbox = new PayloadRing(config.MaxQueuedMessages < 0 ? 0 : config.MaxQueuedMessages);
            _credentials = DeviceCredentials.Parse(storage.Read(CredentialsRecordName));

            // A fresh nonce per power-up: credentials sealed for an earlier hello do not open now.
            _nonce = new byte[ProvisioningCodec.NonceLength];
            random.Fill(_nonce);
            _x25519.PublicKey(_publicKey, 0, config.FactoryPrivateKey, 0);
            byte[] helloKey = cipher.DeriveKey(config.ClaimSecret, _nonce, ProvisioningCodec.HelloKeyInfoBytes(), 32);
            _hello = _codec.EncodeHello(new HelloMessage(config.DeviceId, _nonce, _publicKey, config.Profile, config.FirmwareVersion), helloKey);
            _helloTopic = Topics.ProvisioningHello(config.DeviceId);
            _credentialsTopic = Topics.ProvisioningCredentials(config.DeviceId);
            _nextHelloMs = clock.MonotonicMs;
            link.MessageReceived += OnMessage;
        }

        public event ProvisionedHandler? Provisioned;

        /// <summary>True once credentials are in flash (also when they were there at power-up).</summary>
        public bool IsProvisioned
        {
            get { return _credentials != null; }
        }

        /// <summary>The stored credentials, or null while unclaimed. Secret: never log them.</summary>
        public DeviceCredentials? Credentials
        {
            get { return _credentials; }
        }

        public int HellosSent { get; private set; }

        /// <summary>Messages whose layout was wrong.</summary>
        public int DroppedMalformed { get; private set; }

        /// <summary>Well-formed messages for another device or an earlier power-up.</summary>
        public int DroppedForeign { get; private set; }

        /// <summary>Messages that did not open under the factory key (forged, altered, sealed to another key).</summary>
        public int DroppedUnauthentic { get; private set; }

        /// <summary>Messages lost because the queue was full.</summary>
        public int DroppedQueueFull { get; private set; }

        /// <summary>Credentials that opened but could not be written to flash (retried on the next answer).</summary>
        public int StorageFailures { get; private set; }

        /// <summary>Reads an earlier provisioning's credentials from flash; null when the device is unclaimed.</summary>
        public static DeviceCredentials? Load(IDeviceStorage storage)
        {
            return DeviceCredentials.Parse(storage.Read(CredentialsRecordName));
        }

        /// <summary>Subscribes, says hello every <see cref="ProvisioningConfig.HelloIntervalMs"/>, handles queued answers.</summary>
        public void Tick()
        {
            if (_credentials != null)
            {
                return;
            }

            HandleQueued();
            if (_credentials != null || !_link.IsConnected)
            {
                _subscribed = _subscribed && _link.IsConnected;
                return;
            }

            if (!_subscribed)
            {
                _subscribed = _link.Subscribe(_credentialsTopic, _config.PublishTimeoutMs);
            }

            long now = _clock.MonotonicMs;
            if (_subscribed && now >= _nextHelloMs)
            {
                if (_link.Publish(_helloTopic, _hello, false, _config.PublishTimeoutMs))
                {
                    HellosSent++;
                }

                _nextHelloMs = now + _config.HelloIntervalMs;
            }
        }

        private void HandleQueued()
        {
            while (true)
            {
                byte[]? payload;
                lock (_lock)
                {
                    payload = _inbox.Dequeue();
                }

                if (payload == null || _credentials != null)
                {
                    return;
                }

                Handle(payload);
            }
        }

        private void Handle(byte[] payload)
        {
            CredentialsMessage? message = ProvisioningCodec.ReadCredentials(payload);
            if (message == null)
            {
                DroppedMalformed++;
                return;
            }

            if (message.DeviceId != _config.DeviceId || !ProvisioningCodec.SameBytes(message.DeviceNonce, _nonce))
            {
                DroppedForeign++;
                return;
            }

            // An all-zero shared secret means a low-order ephemeral key: anyone could compute it.
            if (!_x25519.Compute(_shared, 0, _config.FactoryPrivateKey, 0, message.EphemeralPublicKey, 0))
            {
                DroppedUnauthentic++;
                return;
            }

            byte[] salt = ProvisioningCodec.CredentialsSalt(_nonce, message.EphemeralPublicKey, _publicKey);
            byte[] key = _cipher.DeriveKey(_shared, salt, ProvisioningCodec.CredentialsKeyInfoBytes(), 32);
            System.Array.Clear(_shared, 0, _shared.Length);
            byte[]? plaintext = _cipher.Open(key, message.CipherNonce, message.Ciphertext, message.Tag, message.Header);
            System.Array.Clear(key, 0, key.Length);
            if (plaintext == null)
            {
                DroppedUnauthentic++;
                return;
            }

            DeviceCredentials? credentials = DeviceCredentials.Parse(plaintext);
            if (credentials == null)
            {
                // Authentic but unreadable: a gateway bug, not an attack; still nothing to use.
                DroppedMalformed++;
                return;
            }

            // Flash first: a device that reports success must still hold its key after a power cut.
            if (!_storage.Write(CredentialsRecordName, plaintext))
            {
                StorageFailures++;
                return;
            }

            _credentials = credentials;
            ProvisionedHandler? handler = Provisioned;
            if (handler != null)
            {
                handler(credentials);
            }
        }

        private void OnMessage(string topic, byte[] payload)
        {
            if (topic != _credentialsTopic)
            {
                return;
            }

            lock (_lock)
            {
                if (!_inbox.TryEnqueue(payload))
                {
                    DroppedQueueFull++;
                }
            }
        }
    }
}
