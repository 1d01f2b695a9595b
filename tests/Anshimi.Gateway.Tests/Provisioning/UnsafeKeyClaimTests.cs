using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// A device whose hello and label carry a low-order factory key (a faulty factory, or a forgery with the label's
/// code): the claim is refused with its code, counted, and nothing is issued — no registry row, no broker account.
/// </summary>
[Trait("Category", "Protocol")]
[Trait("Category", "Integration")]
public sealed class UnsafeKeyClaimTests : IAsyncLifetime
{
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_claim_for_a_low_order_factory_key_is_refused_counted_and_issues_nothing()
    {
        const uint DeviceId = 0x0000B0C1;
        string id = DeviceIdText.Format(DeviceId);
        string code = ClaimCode.Normalize(ClaimCode.NewCode(), out _)!;
        byte[] lowOrderKey = new byte[32];
        byte[] nonce = RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength);
        byte[] helloKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, ClaimCode.Secret(code), 32, nonce, ProvisioningCodec.HelloKeyInfoBytes());
        byte[] hello = new ProvisioningCodec(new PlatformHmacSha256()).EncodeHello(new HelloMessage(DeviceId, nonce, lowOrderKey, "home", "1.0.0"), helloKey);
        string file = Path.Combine(_rig.Directory, "hello.bin");
        await File.WriteAllBytesAsync(file, hello);
        (await ProcessRunner.RunAsync("mosquitto_pub", [.. _rig.Peer(null, null), "-t", Topics.ProvisioningHello(DeviceId), "-f", file], TimeSpan.FromSeconds(20))).EnsureSuccess();
        await _rig.WaitForAsync(() => _rig.Get<Anshimi.Gateway.Provisioning.HelloBoard>().Find(DeviceId) is not null, "the hello of " + id);

        InstallerRun claim = await _rig.InstallerAsync("claim", id, "--code", ClaimCode.LabelPayload(id, code, lowOrderKey), "--timeout", "5");

        Assert.Equal(ExitCodes.Refused, claim.Exit);
        Assert.Contains("창고로 반송", claim.Err, StringComparison.Ordinal);
        Assert.Contains("nothing was issued", claim.Err, StringComparison.Ordinal);
        Assert.Equal(1, Prometheus.Value(await _rig.MetricsAsync(), "anshimi_gateway_provisioning_claims_total{outcome=\"unsafe_key\"}"));
        Assert.True(_rig.Logs.Contains("Claim of device " + id + " refused: its factory key is a low-order point"), _rig.Logs.Text);
        Assert.Equal(0, _rig.Count("SELECT COUNT(*) FROM devices WHERE id = " + DeviceId.ToString(CultureInfo.InvariantCulture)));
        Assert.DoesNotContain(id, await BrokerClientsAsync());
    }

    private async Task<string> BrokerClientsAsync()
    {
        string password = (await File.ReadAllTextAsync(_rig.Broker.DynamicSecurityPasswordFile)).Trim();
        ProcessResult clients = await ProcessRunner.RunAsync(
            "mosquitto_ctrl",
            ["-h", _rig.Broker.Host, "-p", _rig.Broker.Port.ToString(CultureInfo.InvariantCulture), "-i", BrokerListeners.ClientIdPrefix + MosquittoBroker.NewClientId("peer"),
                "-u", _rig.Broker.DynamicSecurityAdmin, "-P", password, "dynsec", "listClients"],
            TimeSpan.FromSeconds(20));
        Assert.Contains("gateway", clients.EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        return clients.StandardOutput;
    }
}
