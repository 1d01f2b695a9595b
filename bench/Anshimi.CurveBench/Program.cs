using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Bench;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;

// Usage: dotnet run --project bench/Anshimi.CurveBench -c Release [-- samples=200]
// Times the portable curve code the device runs (protocol/Anshimi.Protocol/Security) on this host, one
// operation per sample after a warm-up, and scales the median to an ESP32 by EspFactor (bench/README.md).
const double EspFactor = 5000;
int samples = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;

var x25519 = new X25519();
var ed25519 = new Ed25519();
byte[] scalar = RandomNumberGenerator.GetBytes(32);
byte[] peer = new byte[32];
x25519.PublicKey(peer, 0, RandomNumberGenerator.GetBytes(32), 0);
byte[] shared = new byte[32];

// RFC 8032 TEST SHA(abc): a 64-byte message, about the size of a firmware manifest's digest block.
byte[] publicKey = Convert.FromHexString("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
byte[] message = Convert.FromHexString("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
byte[] signature = Convert.FromHexString("dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704");

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"host: {Environment.ProcessorCount} cores, {RuntimeInformationText()}, 1-minute load {LoadAverage()}"));
Report("X25519 (one scalar multiplication)", () => x25519.Compute(shared, 0, scalar, 0, peer, 0));
Report("Ed25519 verify (64-byte message)", () =>
{
    if (!ed25519.Verify(publicKey, 0, message, 0, message.Length, signature, 0))
    {
        throw new InvalidOperationException("the RFC 8032 vector did not verify");
    }
});

// One claim on the device side, as DeviceProvisioning runs it: power-up (its public key, the hello key, the hello)
// and the answer (the shared secret, the credentials key, the AES-GCM open, the flash write).
byte[] devicePrivate = RandomNumberGenerator.GetBytes(32);
byte[] devicePublic = new byte[32];
x25519.PublicKey(devicePublic, 0, devicePrivate, 0);
byte[] nonce = RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength);
byte[] answer = SealFor(devicePublic, nonce);
var config = new ProvisioningConfig(0x0000B001, "ABCDEFGHJKMNPQRS"u8.ToArray(), devicePrivate, "home-panic", "1.0.0");
var clock = new VirtualClock();
Report("claim, device side (power-up + answer)", () =>
{
    var link = new BenchLink();
    var device = new DeviceProvisioning(config, clock, new MemoryDeviceStorage(), link, new AesGcmProvisioningCipher(), new HmacSha256(), new FixedRandom(nonce));
    link.Deliver(Topics.ProvisioningCredentials(0x0000B001), answer);
    device.Tick();
    if (!device.IsProvisioned)
    {
        throw new InvalidOperationException("the sealed answer did not open");
    }
});
return 0;

static byte[] SealFor(byte[] devicePublic, byte[] nonce)
{
    var x = new X25519();
    byte[] ephemeralPrivate = RandomNumberGenerator.GetBytes(32);
    var ephemeralPublic = new byte[32];
    x.PublicKey(ephemeralPublic, 0, ephemeralPrivate, 0);
    var shared = new byte[32];
    x.Compute(shared, 0, ephemeralPrivate, 0, devicePublic, 0);
    byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, ProvisioningCodec.CredentialsSalt(nonce, ephemeralPublic, devicePublic), ProvisioningCodec.CredentialsKeyInfoBytes());
    byte[] plaintext = new DeviceCredentials(new byte[32], "0000B001", "bench-password").ToBytes();
    byte[] cipherNonce = RandomNumberGenerator.GetBytes(12);
    byte[] header = ProvisioningCodec.EncodeCredentialsHeader(0x0000B001, nonce, ephemeralPublic, cipherNonce, plaintext.Length);
    var ciphertext = new byte[plaintext.Length];
    var tag = new byte[16];
    using (var aes = new AesGcm(key, 16))
    {
        aes.Encrypt(cipherNonce, plaintext, ciphertext, tag, header);
    }

    return ProvisioningCodec.JoinCredentials(header, ciphertext, tag);
}

void Report(string what, Action operation)
{
    for (int i = 0; i < 20; i++)
    {
        operation();
    }

    var times = new double[samples];
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < samples; i++)
    {
        long start = Stopwatch.GetTimestamp();
        operation();
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    double allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)samples;
    var percentiles = new Percentiles(times);
    double fastest = times.Min();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-40} min={fastest,6:F2} ms  {percentiles.Describe()}  allocated {allocated:F1} B/op  ESP32 estimate (min x{EspFactor:F0}) {fastest * EspFactor / 1000:F1} s"));
}

static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

/// <summary>The power-up nonce the answer was sealed for.</summary>
internal sealed class FixedRandom(byte[] bytes) : ISecureRandom
{
    public void Fill(byte[] buffer) => Array.Copy(bytes, buffer, buffer.Length);
}

/// <summary>A link that is always connected and hands a delivered message to the device at once.</summary>
internal sealed class BenchLink : IMqttLink
{
    public event MqttMessageHandler? MessageReceived;

    public bool IsConnected => true;

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs) => true;

    public bool Subscribe(string topicFilter, int timeoutMs) => true;

    public void Deliver(string topic, byte[] payload) => MessageReceived?.Invoke(topic, payload);
}
