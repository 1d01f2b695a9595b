using Anshimi.Firmware;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;
using System.Security.Cryptography;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// What a device knows when it leaves the factory: id, claim code and factory X25519 private key (the code and
/// the key's public half are printed on its label), profile and firmware.
/// </summary>
public sealed record FactoryIdentity(uint DeviceId, string ClaimCode, byte[] PrivateKey, string Profile, string FirmwareVersion)
{
    public string DeviceIdText => Protocol.DeviceIdText.Format(DeviceId);

    /// <summary>The public half, by the portable X25519 the device runs.</summary>
    public byte[] PublicKey
    {
        get
        {
            var publicKey = new byte[X25519.KeyLength];
            new X25519().PublicKey(publicKey, 0, PrivateKey, 0);
            return publicKey;
        }
    }

    /// <summary>What the label's QR code holds.</summary>
    public string LabelPayload =>
        Protocol.Upstream.Provisioning.ClaimCode.LabelPayload(DeviceIdText, Protocol.Upstream.Provisioning.ClaimCode.Normalize(ClaimCode, out _) ?? ClaimCode, PublicKey);

    /// <summary>Log-safe: no claim code, no key.</summary>
    public override string ToString() => DeviceIdText + " (" + Profile + ", " + FirmwareVersion + ")";
}

/// <summary>The factory key pair's private half in a device's flash: made once, kept across power-ups.</summary>
public static class FactoryKey
{
    public const string RecordName = "factory-key";

    /// <summary>The key in the device's flash, made (from the OS's CSPRNG) and written first if there is none.</summary>
    public static byte[] LoadOrCreate(string stateRoot, string deviceIdText)
    {
        var storage = new FlashStorage(Path.Combine(stateRoot, deviceIdText));
        byte[]? key = storage.Read(RecordName);
        if (key is { Length: X25519.KeyLength })
        {
            return key;
        }

        key = RandomNumberGenerator.GetBytes(X25519.KeyLength);
        return storage.Write(RecordName, key) ? key : throw new IOException("could not write the factory key for " + deviceIdText);
    }
}

/// <summary>
/// A bell fresh from the factory: connects anonymously, says hello on the provisioning topic until
/// a gateway answers with credentials sealed to its factory key, stores them in its flash, then runs
/// as a normal bell under its own broker account. With credentials already in flash it skips
/// straight to running.
/// </summary>
public static class UnclaimedDevice
{
    /// <summary>Runs provisioning (if needed) and returns the running bell as a one-device fleet.</summary>
    public static async Task<SimulatedFleet> ProvisionAndStartAsync(
        FactoryIdentity identity, string host, int port, string stateRoot, TextWriter log, CancellationToken cancellationToken, Action<BellConfig>? configure = null)
    {
        string claim = ClaimCode.Normalize(identity.ClaimCode, out string problem) ?? throw new FormatException("--claim-code " + problem);
        var storage = new FlashStorage(Path.Combine(stateRoot, identity.DeviceIdText));
        DeviceCredentials? credentials = DeviceProvisioning.Load(storage);
        if (credentials is null)
        {
            log.WriteLine("[" + identity.DeviceIdText + "] 미등록 장치: 게이트웨이에 인사 중 (unclaimed: saying hello until claimed)");
            credentials = await WaitForClaimAsync(identity, ClaimCode.Secret(claim), storage, host, port, log, cancellationToken);
            log.WriteLine("[" + identity.DeviceIdText + "] 자격 증명 수신·저장, 새 계정으로 접속 (credentials stored; reconnecting with its own account)");
        }

        var record = new DeviceRecord(identity.DeviceIdText, Convert.ToHexString(credentials.Key), credentials.Password, identity.Profile, new SiteInfo("unbound", 0, 0, ""), null);
        return SimulatedFleet.Start([record], host, port, stateRoot, log, configure);
    }

    private static async Task<DeviceCredentials> WaitForClaimAsync(
        FactoryIdentity identity, byte[] claimSecret, FlashStorage storage, string host, int port, TextWriter log, CancellationToken cancellationToken)
    {
        MqttSession session = MqttSession.Create(
            MqttLink.AnonymousOptions(BrokerListeners.UnclaimedClientId(identity.DeviceIdText), host, BrokerListeners.ProvisioningPort(port)), message => log.WriteLine("mqtt: " + message));
        await using var link = new MqttLink(session, identity.DeviceId, announcesStatus: false);
        var config = new ProvisioningConfig(identity.DeviceId, claimSecret, identity.PrivateKey, identity.Profile, identity.FirmwareVersion);
        var provisioning = new DeviceProvisioning(config, new SystemClock(), storage, link, new AesGcmProvisioningCipher(), new PlatformHmacSha256(), new SystemSecureRandom());
        link.Start();
        int dropped = 0;
        while (!provisioning.IsProvisioned)
        {
            provisioning.Tick();
            int nowDropped = provisioning.DroppedMalformed + provisioning.DroppedForeign + provisioning.DroppedUnauthentic + provisioning.DroppedQueueFull;
            if (nowDropped != dropped)
            {
                log.WriteLine("[" + identity.DeviceIdText + "] 잘못된 프로비저닝 메시지 무시 (provisioning messages dropped: " + nowDropped + ")");
                dropped = nowDropped;
            }

            await Task.Delay(100, cancellationToken);
        }

        return provisioning.Credentials!;
    }
}
