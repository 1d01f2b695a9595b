using System.Security.Cryptography;
using System.Text;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using FsCheck;
using FsCheck.Fluent;
using NSec.Cryptography;

namespace Anshimi.Firmware.Tests.Provisioning;

/// <summary>
/// The device side of provisioning on the virtual clock. Gateway answers are sealed here with NSec's X25519
/// (libsodium) and the platform's HKDF and AES-GCM directly, following protocol/README.md §9 — not with the
/// gateway's code, and not with the portable X25519 the device opens them with — so the device is checked against
/// the specification and an independent curve implementation, not against itself or the gateway.
/// </summary>
public sealed class DeviceProvisioningTests
{
    private const uint DeviceId = 0x0000B001;
    private static readonly byte[] ClaimSecret = Encoding.ASCII.GetBytes("ABCDEFGHJKMNPQRS");
    private static readonly byte[] FactoryPrivateKey = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] FactoryPublicKey = PublicKeyOf(FactoryPrivateKey);

    private readonly VirtualClock _clock = new();
    private readonly MemoryDeviceStorage _storage = new();
    private readonly FakeMqttLink _link;
    private readonly DeviceProvisioning _provisioning;
    private DeviceCredentials? _raised;

    public DeviceProvisioningTests()
    {
        _link = new FakeMqttLink(_clock);
        _provisioning = New(_storage);
        _provisioning.Provisioned += credentials => _raised = credentials;
    }

    private static string CredentialsTopic => Topics.ProvisioningCredentials(DeviceId);

    [Fact]
    public void Says_hello_on_its_topic_every_interval_with_a_tag_under_the_claim_secret()
    {
        _provisioning.Tick();
        Assert.Contains(CredentialsTopic, _link.Subscriptions);
        Published hello = Assert.Single(_link.Published);
        Assert.Equal(Topics.ProvisioningHello(DeviceId), hello.Topic);

        HelloMessage read = Assert.IsType<HelloMessage>(ProvisioningCodec.ReadHello(hello.Payload));
        Assert.Equal(DeviceId, read.DeviceId);
        Assert.Equal("home-panic", read.Profile);
        Assert.Equal("1.2.3", read.FirmwareVersion);
        Assert.Equal(FactoryPublicKey, read.PublicKey);
        var codec = new ProvisioningCodec(new PlatformHmacSha256());
        Assert.True(codec.HasValidHelloTag(hello.Payload, HelloKey(ClaimSecret, read.Nonce)));
        Assert.False(codec.HasValidHelloTag(hello.Payload, HelloKey(Encoding.ASCII.GetBytes("ABCDEFGHJKMNPQRT"), read.Nonce)));

        _clock.Advance(4_999);
        _provisioning.Tick();
        Assert.Single(_link.Published);
        _clock.Advance(1);
        _provisioning.Tick();
        Assert.Equal(2, _link.Published.Count);
        Assert.Equal(2, _provisioning.HellosSent);
    }

    [Fact]
    public void Sealed_credentials_are_stored_in_flash_before_success_is_reported()
    {
        byte[] nonce = HelloNonce();
        var issued = new DeviceCredentials(RandomNumberGenerator.GetBytes(32), "0000B001", "pw-" + Guid.NewGuid().ToString("N"));
        _link.Deliver(CredentialsTopic, Seal(nonce, FactoryPublicKey, issued.ToBytes()));
        _provisioning.Tick();

        Assert.True(_provisioning.IsProvisioned);
        Assert.NotNull(_raised);
        Assert.Equal(issued.Key, _raised!.Key);
        Assert.Equal(issued.Password, _raised.Password);

        // A device restarting finds them in flash and does not say hello again.
        DeviceCredentials stored = Assert.IsType<DeviceCredentials>(DeviceProvisioning.Load(_storage));
        Assert.Equal(issued.Key, stored.Key);
        Assert.Equal(issued.Username, stored.Username);
        _link.Reset();
        DeviceProvisioning restarted = New(_storage);
        restarted.Tick();
        Assert.True(restarted.IsProvisioned);
        Assert.Empty(_link.Published);
    }

    [Fact]
    public void Credentials_sealed_to_another_key_are_dropped_and_counted()
    {
        byte[] nonce = HelloNonce();
        byte[] plaintext = new DeviceCredentials(new byte[32], "0000B001", "secret").ToBytes();
        _link.Deliver(CredentialsTopic, Seal(nonce, PublicKeyOf(RandomNumberGenerator.GetBytes(32)), plaintext));
        _provisioning.Tick();

        Assert.False(_provisioning.IsProvisioned);
        Assert.Equal(1, _provisioning.DroppedUnauthentic);
        Assert.Null(_storage.Read(DeviceProvisioning.CredentialsRecordName));
        Assert.Null(_raised);
    }

    [Fact]
    public void Altered_bytes_anywhere_in_a_good_answer_are_refused()
    {
        byte[] nonce = HelloNonce();
        byte[] good = Seal(nonce, FactoryPublicKey, new DeviceCredentials(new byte[32], "0000B001", "secret").ToBytes());
        for (int i = 0; i < good.Length; i++)
        {
            byte[] bad = (byte[])good.Clone();
            bad[i] ^= 0x01;
            _link.Deliver(CredentialsTopic, bad);
            _provisioning.Tick();
        }

        Assert.False(_provisioning.IsProvisioned);
        Assert.Equal(good.Length, _provisioning.DroppedMalformed + _provisioning.DroppedForeign + _provisioning.DroppedUnauthentic);

        // Header bytes other than type, id and nonce, and every ciphertext and tag byte, fail authentication.
        Assert.True(_provisioning.DroppedUnauthentic >= good.Length - 2 - 4 - 16 - 2);
    }

    [Fact]
    public void Answers_for_an_earlier_power_up_or_another_device_are_foreign()
    {
        HelloNonce();
        byte[] plaintext = new DeviceCredentials(new byte[32], "0000B001", "secret").ToBytes();
        _link.Deliver(CredentialsTopic, Seal(new byte[16], FactoryPublicKey, plaintext));
        _provisioning.Tick();

        Assert.Equal(1, _provisioning.DroppedForeign);
        Assert.False(_provisioning.IsProvisioned);
    }

    [Fact]
    public void A_flash_that_refuses_the_write_leaves_the_device_unclaimed_and_counts_it()
    {
        byte[] nonce = HelloNonce();
        _storage.FailWrites = true;
        _link.Deliver(CredentialsTopic, Seal(nonce, FactoryPublicKey, new DeviceCredentials(new byte[32], "0000B001", "secret").ToBytes()));
        _provisioning.Tick();

        Assert.False(_provisioning.IsProvisioned);
        Assert.Equal(1, _provisioning.StorageFailures);
        Assert.Null(_raised);
    }

    [Fact]
    public void Random_bytes_on_the_credentials_topic_never_throw_and_never_provision()
    {
        HelloNonce();
        Prop.ForAll<byte[]>(bytes =>
        {
            _link.Deliver(CredentialsTopic, bytes ?? []);
            _provisioning.Tick();
            return !_provisioning.IsProvisioned;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
        Assert.Equal(2000, _provisioning.DroppedMalformed + _provisioning.DroppedForeign + _provisioning.DroppedUnauthentic);
    }

    [Fact]
    public void A_flood_between_ticks_is_bounded_and_counted()
    {
        HelloNonce();
        for (int i = 0; i < 20; i++)
        {
            _link.Deliver(CredentialsTopic, [1, 2, 3]);
        }

        _provisioning.Tick();
        Assert.Equal(8, _provisioning.DroppedMalformed);
        Assert.Equal(12, _provisioning.DroppedQueueFull);
    }

    [Fact]
    public void Hello_reader_refuses_truncations_and_bad_text()
    {
        _provisioning.Tick();
        byte[] hello = _link.Published[0].Payload;
        for (int cut = 0; cut < hello.Length; cut++)
        {
            Assert.Null(ProvisioningCodec.ReadHello(hello[..cut]));
        }

        byte[] control = (byte[])hello.Clone();
        control[55] = 0x07; // the profile's first character
        Assert.Null(ProvisioningCodec.ReadHello(control));
        Prop.ForAll<byte[]>(bytes => ProvisioningCodec.ReadHello(bytes ?? []) is null || bytes!.Length >= 74)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    private static byte[] HelloKey(byte[] secret, byte[] nonce) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, nonce, Encoding.UTF8.GetBytes("anshimi/v2/prov hello"));

    /// <summary>
    /// The gateway's answer built from the specification: an ephemeral X25519 key agreed with the device's key,
    /// HKDF-SHA256 (salt: device nonce · ephemeral public · device public), header as associated data, AES-256-GCM.
    /// </summary>
    private static byte[] Seal(byte[] deviceNonce, byte[] devicePublicKey, byte[] plaintext)
    {
        var curve = KeyAgreementAlgorithm.X25519;
        using var ephemeral = Key.Create(curve);
        byte[] ephemeralPublic = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        using SharedSecret shared = curve.Agree(ephemeral, PublicKey.Import(curve, devicePublicKey, KeyBlobFormat.RawPublicKey))!;
        byte[] cipherNonce = RandomNumberGenerator.GetBytes(12);
        byte[] key = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, [.. deviceNonce, .. ephemeralPublic, .. devicePublicKey], Encoding.UTF8.GetBytes("anshimi/v2/prov credentials"), 32);
        byte[] header = [2, 2, 0x00, 0x00, 0xB0, 0x01, .. deviceNonce, .. ephemeralPublic, .. cipherNonce, (byte)(plaintext.Length >> 8), (byte)plaintext.Length];
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Encrypt(cipherNonce, plaintext, ciphertext, tag, header);
        }

        return [.. header, .. ciphertext, .. tag];
    }

    private static byte[] PublicKeyOf(byte[] privateKey)
    {
        using var key = Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    private DeviceProvisioning New(MemoryDeviceStorage storage) =>
        new(new ProvisioningConfig(DeviceId, ClaimSecret, FactoryPrivateKey, "home-panic", "1.2.3"), _clock, storage, _link, new AesGcmProvisioningCipher(), new PlatformHmacSha256(), new SystemSecureRandom());

    /// <summary>Runs one tick and returns the nonce of the hello it sent (what the gateway would answer to).</summary>
    private byte[] HelloNonce()
    {
        _provisioning.Tick();
        return ProvisioningCodec.ReadHello(_link.Published[^1].Payload)!.Nonce;
    }
}
