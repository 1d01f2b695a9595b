using System.Globalization;
using System.Security.Cryptography;
using Anshimi.DeviceSim;
using Anshimi.Gateway.Provisioning;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>Anonymous clients posing as a device on the provisioning topic, on real Mosquitto with dynamic security.</summary>
[Trait("Category", "Privacy")]
[Trait("Category", "Integration")]
public sealed class HelloBoardTakeoverTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Anonymous_hellos_for_a_listed_device_never_replace_its_own_and_the_label_code_still_claims_it()
    {
        FactoryIdentity genuine = ProvisioningRig.NewIdentity(0x0000B051, "1.0.0");
        Task<SimulatedFleet> device = _rig.PowerOn(genuine);
        await _rig.WaitForHelloAsync(genuine);
        byte[] genuineHello = _rig.Get<HelloBoard>().Find(genuine.DeviceId)!.Raw;

        // Six different hellos for the same id from anonymous clients, none of which knows the claim code.
        const int Impostors = 6;
        var codec = new ProvisioningCodec(new PlatformHmacSha256());
        for (int i = 0; i < Impostors; i++)
        {
            var fake = new HelloMessage(genuine.DeviceId, RandomNumberGenerator.GetBytes(ProvisioningCodec.NonceLength), RandomNumberGenerator.GetBytes(ProvisioningCodec.PublicKeyLength), "shop-panic", "6.6." + i.ToString(CultureInfo.InvariantCulture));
            await PublishAnonymouslyAsync(Topics.ProvisioningHello(genuine.DeviceId), codec.EncodeHello(fake, RandomNumberGenerator.GetBytes(32)));
        }

        string metrics = "";
        await _rig.WaitForAsync(
            () =>
            {
                metrics = _rig.MetricsAsync().GetAwaiter().GetResult();
                int listedImpostors = _rig.Get<HelloBoard>().Candidates(genuine.DeviceId).Count(c => c.Hello.FirmwareVersion.StartsWith("6.6.", StringComparison.Ordinal));
                return Dropped(metrics, ProvisioningMetrics.RateLimited) + Dropped(metrics, ProvisioningMetrics.Conflict) + listedImpostors == Impostors;
            },
            "every impostor hello either set aside or dropped and counted");

        Assert.True(Dropped(metrics, ProvisioningMetrics.RateLimited) >= 1);
        HelloSighting listed = _rig.Get<HelloBoard>().Find(genuine.DeviceId)!;
        Assert.Equal(genuineHello, listed.Raw);
        Assert.InRange(_rig.Get<HelloBoard>().Candidates(genuine.DeviceId).Count, 1, new ProvisioningOptions().MaxHellosPerDevice);
        InstallerRun discover = await _rig.InstallerAsync("discover", "--lang", "en");
        Assert.Contains(genuine.DeviceIdText + "  home  fw 1.0.0", discover.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("6.6.", discover.Out, StringComparison.Ordinal);

        // The label's code verifies the device's own hello, so the credentials are sealed to it and it comes up.
        InstallerRun claim = await _rig.InstallerAsync("claim", genuine.DeviceIdText, "--code", genuine.LabelPayload, "--timeout", "60");
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        await device.WaitAsync(Patience);
    }

    private static long Dropped(string metrics, string reason) =>
        Prometheus.Value(metrics, "anshimi_gateway_provisioning_dropped_total{reason=\"" + reason + "\"}");

    private async Task PublishAnonymouslyAsync(string topic, byte[] payload)
    {
        string file = Path.Combine(_rig.Directory, Guid.NewGuid().ToString("N") + ".bin");
        await File.WriteAllBytesAsync(file, payload);
        (await ProcessRunner.RunAsync("mosquitto_pub", [.. _rig.Peer(null, null), "-t", topic, "-f", file], Patience)).EnsureSuccess();
    }
}
