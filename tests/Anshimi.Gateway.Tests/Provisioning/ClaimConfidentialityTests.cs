using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Anshimi.DeviceSim;
using Anshimi.Gateway.Provisioning;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// Claiming against an attacker who photographed the victim's label and records every message on a real
/// Mosquitto — as an anonymous client, as the attacker's own claimed device, and (beyond any attacker's reach)
/// as a back-end peer subscribed to the whole tree: the credentials never open for them (protocol/README.md §9).
/// </summary>
[Trait("Category", "Protocol")]
[Trait("Category", "Privacy")]
[Trait("Category", "Integration")]
public sealed class ClaimConfidentialityTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_label_photo_and_every_recorded_message_open_no_credentials_and_a_forged_hello_gets_none()
    {
        // The attacker's own device, claimed normally: its account is one more vantage point on the broker.
        FactoryIdentity own = ProvisioningRig.NewIdentity(0x0000B0A1);
        await _rig.ClaimAsync(own);
        DeviceCredentials ownCredentials = _rig.StoredCredentials(own);

        await using RunningProcess anonymous = await RecordAsync(null, null, Topics.Root + "/prov/+/creds");
        await using RunningProcess asOwnDevice = await RecordAsync(ownCredentials.Username, ownCredentials.Password, "#");
        await using RunningProcess wholeTree = await RecordAsync("probe", _rig.ProbePassword, Topics.Root + "/#");

        // The photo: everything printed on the victim's label.
        FactoryIdentity victim = ProvisioningRig.NewIdentity(0x0000B0B1);
        string photo = victim.LabelPayload;
        Assert.True(ClaimCode.TryReadLabel(photo, out _, out string code, out byte[] labelKey, out _));

        // With the label's code the attacker tags a hello of its own, carrying its own key, before the victim is powered.
        byte[] attackerPrivate = RandomNumberGenerator.GetBytes(32);
        var attackerPublic = new byte[32];
        new X25519().PublicKey(attackerPublic, 0, attackerPrivate, 0);
        byte[] nonce = RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength);
        byte[] helloKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, ClaimCode.Secret(code), 32, nonce, ProvisioningCodec.HelloKeyInfoBytes());
        byte[] forged = new ProvisioningCodec(new PlatformHmacSha256()).EncodeHello(new HelloMessage(victim.DeviceId, nonce, attackerPublic, "home", "1.0.0"), helloKey);
        await PublishAnonymouslyAsync(Topics.ProvisioningHello(victim.DeviceId), forged);
        await _rig.WaitForHelloAsync(victim);

        // An installer scanning the real label is refused for the forged hello: its tag is right, its key is not.
        InstallerRun refused = await _rig.InstallerAsync("claim", victim.DeviceIdText, "--code", photo, "--timeout", "5");
        Assert.Equal(ExitCodes.Refused, refused.Exit);
        Assert.Contains("nothing was issued", refused.Err, StringComparison.Ordinal);
        Assert.Equal(1, Prometheus.Value(await _rig.MetricsAsync(), "anshimi_gateway_provisioning_claims_total{outcome=\"key_mismatch\"}"));

        // The victim powers on; its own hello is listed beside the forged one, and the same scan claims it.
        Task<SimulatedFleet> device = _rig.PowerOn(victim);
        await _rig.WaitForAsync(() => _rig.Get<HelloBoard>().Candidates(victim.DeviceId).Count == 2, "the victim's hello beside the forged one");
        InstallerRun claim = await _rig.InstallerAsync("claim", victim.DeviceIdText, "--code", photo, "--timeout", "60");
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        await device.WaitAsync(Patience);
        DeviceCredentials issued = _rig.StoredCredentials(victim);
        string credentialsTopic = Topics.ProvisioningCredentials(victim.DeviceId);
        await _rig.WaitForAsync(() => Recorded(anonymous).Any(m => m.Topic == credentialsTopic), "the sealed credentials in the anonymous recording");
        await Task.Delay(500);

        List<(string Topic, byte[] Payload)> recording = [.. Recorded(anonymous), .. Recorded(asOwnDevice), .. Recorded(wholeTree)];
        List<byte[]> answers = [.. recording.Where(m => m.Topic == credentialsTopic).Select(m => m.Payload)];
        Assert.NotEmpty(answers);

        // Nothing issued went to the forged hello: every answer echoes the victim's nonce.
        Assert.All(answers, a => Assert.NotEqual(nonce, ProvisioningCodec.ReadCredentials(a)!.DeviceNonce));

        // Every secret-looking thing the attacker holds, tried as each key input the protocol has.
        List<byte[]> guesses =
        [
            ClaimCode.Secret(code), labelKey, Encoding.ASCII.GetBytes(photo), Encoding.ASCII.GetBytes(victim.DeviceIdText),
            attackerPrivate, ownCredentials.Key, Encoding.ASCII.GetBytes(ownCredentials.Password),
            .. recording.Select(m => m.Payload),
        ];
        foreach (byte[] answer in answers)
        {
            Assert.True(Opens(answer, victim.PrivateKey, labelKey), "control: the device's own private key opens the answer");
            foreach (byte[] guess in guesses)
            {
                Assert.False(Opens(answer, guess, labelKey), "a recorded or printed value opened the credentials");
                Assert.False(OpensWithSecret(answer, guess), "a recorded or printed value opened the credentials as HKDF input");
            }
        }

        // And neither the frame key nor the password is anywhere in what was recorded.
        byte[] password = Encoding.ASCII.GetBytes(issued.Password);
        Assert.DoesNotContain(recording, m => m.Payload.AsSpan().IndexOf(issued.Key) >= 0 || m.Payload.AsSpan().IndexOf(password) >= 0);
    }

    /// <summary>Opens an answer as the device would with <paramref name="privateKey"/> (protocol/README.md §9).</summary>
    private static bool Opens(byte[] answer, byte[] privateKey, byte[] devicePublicKey)
    {
        if (privateKey.Length < 32)
        {
            return false;
        }

        CredentialsMessage message = ProvisioningCodec.ReadCredentials(answer)!;
        var shared = new byte[32];
        if (!new X25519().Compute(shared, 0, privateKey, 0, message.EphemeralPublicKey, 0))
        {
            return false;
        }

        return OpensWithSecret(answer, shared, devicePublicKey);
    }

    /// <summary>Tries <paramref name="secret"/> straight as the HKDF input, as if the seal had used it.</summary>
    private static bool OpensWithSecret(byte[] answer, byte[] secret, byte[]? devicePublicKey = null)
    {
        if (secret.Length == 0)
        {
            return false;
        }

        CredentialsMessage message = ProvisioningCodec.ReadCredentials(answer)!;
        byte[] salt = ProvisioningCodec.CredentialsSalt(message.DeviceNonce, message.EphemeralPublicKey, devicePublicKey ?? new byte[32]);
        byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt, ProvisioningCodec.CredentialsKeyInfoBytes());
        var plaintext = new byte[message.Ciphertext.Length];
        using var aes = new AesGcm(key, ProvisioningCodec.CipherTagLength);
        try
        {
            aes.Decrypt(message.CipherNonce, message.Ciphertext, message.Tag, plaintext, message.Header);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <summary>A mosquitto_sub printing each message as topic and hex payload, ready once subscribed.</summary>
    private async Task<RunningProcess> RecordAsync(string? user, string? password, string topic)
    {
        RunningProcess sub = ProcessRunner.Start("stdbuf", ["-oL", "mosquitto_sub", .. _rig.Peer(user, password), "-d", "-q", "1", "-t", topic, "-F", "%t %x"]);
        await sub.WaitForOutputLineAsync(line => line.Contains("Subscribed (mid", StringComparison.Ordinal), Patience);
        return sub;
    }

    private static IEnumerable<(string Topic, byte[] Payload)> Recorded(RunningProcess sub) =>
        sub.OutputLines
            .Where(l => l.StartsWith(Topics.Root + "/", StringComparison.Ordinal) && l.Contains(' ', StringComparison.Ordinal))
            .Select(l => (l[..l.IndexOf(' ', StringComparison.Ordinal)], Convert.FromHexString(l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..].Trim())));

    private async Task PublishAnonymouslyAsync(string topic, byte[] payload)
    {
        string file = Path.Combine(_rig.Directory, Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture) + ".bin");
        await File.WriteAllBytesAsync(file, payload);
        (await ProcessRunner.RunAsync("mosquitto_pub", [.. _rig.Peer(null, null), "-t", topic, "-f", file], Patience)).EnsureSuccess();
    }
}
