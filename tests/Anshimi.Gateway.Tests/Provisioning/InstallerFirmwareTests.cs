using Anshimi.Gateway.Firmware;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// <c>anshimi-installer firmware</c> against a running gateway on a real broker: each device's firmware version and update
/// state, Korean first (English with <c>--lang en</c>), from the state reports the gateway relays to the cloud's console,
/// and a summary of the site. The devices' update messages and the cloud's offer are sent by a peer on the broker.
/// </summary>
[Trait("Category", "Ota")]
public sealed class InstallerFirmwareTests : IAsyncLifetime
{
    private static readonly string[] HomeBell = ["home-bell"];
    private static readonly string[] Home = ["home"];

    private readonly TestDevice _refusing = new(0xB101, 1, "home");
    private readonly TestDevice _downloading = new(0xB102, 2, "home");
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync(_refusing, _downloading);

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Firmware_lists_each_device_s_version_and_update_state_and_the_site_s_summary()
    {
        InstallerRun before = await _rig.InstallerAsync("firmware");
        Assert.True(before.Exit == ExitCodes.Ok, before.ToString());
        Assert.Contains("0000B101  home  fw -  갱신 없음 (idle)", before.Out, StringComparison.Ordinal);
        Assert.Contains("이 현장 요약 (2): fw - ×2; 갱신 없음 (idle) ×2", before.Out, StringComparison.Ordinal);

        using ReleaseKey key = ReleaseKey.Generate();
        byte[] release = ReleasePacker.Pack(
            new ReleaseDescription(ReleaseVersion.Parse("1.1.0")!, ReleaseVersion.Parse("1.0.0")!, ReleaseVersion.Parse("1.0.0")!, Home, HomeBell, "Anshimi.Bell.Device.Program", 1024),
            [new ReleaseAssembly("Anshimi.Bell.Device.pe", System.Security.Cryptography.RandomNumberGenerator.GetBytes(8000))], key, DateTimeOffset.UtcNow);
        ReleaseFile file = ReleaseFile.Read(release)!;
        byte[] releaseId = ReleaseManifest.ReleaseIdOf(file.ManifestBytes, new Protocol.Security.Sha256());
        await PublishAsync(Topics.GatewayCommands(ProvisioningRig.GatewayId), EnvelopeSerializer.Serialize(new FirmwareOfferEnvelope(
            "r-test", ReleaseManifest.Hex(releaseId), file.ManifestBytes, Convert.ToHexString(file.Signature),
            [_refusing.Record.DeviceId, _downloading.Record.DeviceId], DateTimeOffset.UtcNow.AddHours(1))));
        await _rig.WaitForAsync(() => _rig.Count("SELECT count(*) FROM firmware_offers WHERE release_id = '" + ReleaseManifest.Hex(releaseId) + "'") == 2, "both offers kept");

        ReleaseVersion running = ReleaseVersion.Parse("1.0.0")!;
        await PublishAsync(Topics.DeviceUpdateUp(_refusing.Id),
            UpdateMessage.EncodeStateReport(releaseId, UpdateState.Refused, UpdateReason.WrongBoard, 0, 0, running, running, "voice-bell", "home"));
        await PublishAsync(Topics.DeviceUpdateUp(_downloading.Id),
            UpdateMessage.EncodeStateReport(releaseId, UpdateState.Downloading, UpdateReason.None, 3, 8, running, running, "home-bell", "home"));
        await _rig.WaitForAsync(() => _rig.Count("SELECT count(*) FROM firmware_states WHERE state IN ('refused', 'downloading')") == 2, "both reports kept");

        InstallerRun after = await _rig.InstallerAsync("firmware");
        Assert.True(after.Exit == ExitCodes.Ok, after.ToString());
        Assert.Contains("0000B101  home  fw 1.0.0  장치가 거부: 다른 보드용 (refused, wrong_board)  릴리스 " + ReleaseManifest.Hex(releaseId), after.Out, StringComparison.Ordinal);
        Assert.Contains("0000B102  home  fw 1.0.0  내려받는 중 (downloading)  3/8", after.Out, StringComparison.Ordinal);
        Assert.Contains("이 현장 요약 (2): fw 1.0.0 ×2; 내려받는 중 (downloading) ×1, 장치가 거부 (refused) ×1", after.Out, StringComparison.Ordinal);

        InstallerRun one = await _rig.InstallerAsync("firmware", "0000b101", "--lang", "en");
        Assert.True(one.Exit == ExitCodes.Ok, one.ToString());
        Assert.Contains("0000B101  home  fw 1.0.0  refused: for another board", one.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("0000B102", one.Out, StringComparison.Ordinal);
        Assert.Contains("This site's summary (1)", one.Out, StringComparison.Ordinal);

        InstallerRun unknown = await _rig.InstallerAsync("firmware", "0000FFFF");
        Assert.Equal(ExitCodes.Refused, unknown.Exit);
        Assert.Contains("게이트웨이 장치 목록에 없는 장치입니다.", unknown.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_without_a_version_keeps_the_version_known_before()
    {
        var store = _rig.Get<FirmwareUpdateStore>();
        await store.SaveStateAsync(new FirmwareStateEnvelope(ProvisioningRig.GatewayId, "0000B101", null, null, "idle", null, 0, 0, "1.0.0", "1.0.0", "home-bell", DateTimeOffset.UtcNow), default);
        await store.SaveStateAsync(new FirmwareStateEnvelope(ProvisioningRig.GatewayId, "0000B101", "0011223344556677", "r-1", "failed", "expired", 0, 8, null, null, null, DateTimeOffset.UtcNow), default);

        DeviceFirmwareState state = Assert.Single(await store.StatesAsync(default));
        Assert.Equal(("failed", "expired", "1.0.0"), (state.State, state.Reason, state.RunningVersion));
    }

    [Fact]
    public void Every_update_state_and_reason_has_its_installer_text_in_both_languages()
    {
        var korean = new Texts(english: false);
        var english = new Texts(english: true);
        for (int state = 0; UpdateState.NameOf(state) is { } name; state++)
        {
            for (int reason = 0; reason == 0 || UpdateReason.NameOf(reason) is not null; reason++)
            {
                string? why = UpdateReason.NameOf(reason);
                string ko = korean.UpdateState(name, why);
                string names = "(" + name + (why is null ? "" : ", " + why) + ")";
                Assert.EndsWith(" " + names, ko, StringComparison.Ordinal);
                string text = ko[..^(names.Length + 1)];
                Assert.Matches("[가-힣]", text);
                Assert.DoesNotContain(name, text, StringComparison.Ordinal);
                Assert.DoesNotContain(why ?? "_", text, StringComparison.Ordinal);
                Assert.DoesNotContain("_", english.UpdateState(name, why), StringComparison.Ordinal);
            }
        }
    }

    private async Task PublishAsync(string topic, byte[] payload)
    {
        string path = Path.Combine(_rig.Directory, "message-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, payload);
        (await Testing.ProcessRunner.RunAsync("mosquitto_pub", [.. _rig.Peer("probe", _rig.ProbePassword), "-q", "1", "-t", topic, "-f", path], TimeSpan.FromSeconds(20))).EnsureSuccess();
    }
}
