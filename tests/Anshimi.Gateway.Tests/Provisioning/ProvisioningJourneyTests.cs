using System.Text;
using Anshimi.DeviceSim;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Storage;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>The installer's journey on real Mosquitto with dynamic security, bells on the host HAL, the installer in-process.</summary>
[Trait("Category", "Integration")]
public sealed class ProvisioningJourneyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Claim_connect_walk_test_and_replace_revoke_the_old_device_at_the_broker()
    {
        FactoryIdentity a = ProvisioningRig.NewIdentity(0x0000B001);
        FactoryIdentity b = ProvisioningRig.NewIdentity(0x0000B002, "1.0.1");
        Task<SimulatedFleet> deviceA = _rig.PowerOn(a);

        InstallerRun discover = await _rig.InstallerAsync("discover", "--wait", "30");
        Assert.True(discover.Exit == ExitCodes.Ok, discover.ToString());
        Assert.Contains("0000B001  home  fw 1.0.0", discover.Out, StringComparison.Ordinal);

        // A wrong code is refused and nothing is issued.
        InstallerRun wrong = await _rig.InstallerAsync("claim", "0000B001", "--code", ClaimCode.NewCode(), "--key", Convert.ToHexString(a.PublicKey));
        Assert.Equal(ExitCodes.Refused, wrong.Exit);
        Assert.Contains("등록 코드가 이 장치와 맞지 않습니다", wrong.Err, StringComparison.Ordinal);
        Assert.Equal(1, Prometheus.Value(await _rig.MetricsAsync(), "anshimi_gateway_provisioning_claims_total{outcome=\"wrong_code\"}"));
        Assert.Empty(await _rig.Get<DeviceLifecycle>().ListAsync(CancellationToken.None));
        Assert.False(deviceA.IsCompleted);

        // The right code, typed, with the label's key: credentials sealed to that key, the device reconnects with them.
        InstallerRun claim = await _rig.InstallerAsync("claim", "0000b001", "--code", a.ClaimCode.ToLowerInvariant(), "--key", ClaimCode.FormatPublicKey(a.PublicKey).ToLowerInvariant(), "--lang", "en");
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        Assert.Contains("connected with its new account", claim.Out, StringComparison.Ordinal);
        SimulatedFleet fleetA = await deviceA.WaitAsync(Patience);
        DeviceCredentials credentialsA = _rig.StoredCredentials(a);
        Assert.Equal("0000B001", credentialsA.Username);
        await _rig.WaitForAsync(() => fleetA.Devices[0].Link!.IsConnected, "device A on its own account");

        InstallerRun bind = await _rig.InstallerAsync("bind", "0000B001", "--kind", "home", "--address", "서울특별시 중구 세종대로 110", "--lat", "37.5665", "--lon", "126.9780", "--ref", "R-7F3K2Q");
        Assert.True(bind.Exit == ExitCodes.Ok, bind.ToString());
        Assert.Contains("11140", bind.Out, StringComparison.Ordinal);
        Assert.Contains("행정동 서울특별시 중구 명동 (1114055000)", bind.Out, StringComparison.Ordinal);

        // Walk test: the press arrives, marked test, and goes upstream as a test.
        await using RunningProcess events = await _rig.SubscribeAsync("probe", _rig.ProbePassword, Topics.GatewayEvents(ProvisioningRig.GatewayId));
        Task<InstallerRun> walk = _rig.InstallerAsync("walk-test", "0000B001", "--timeout", "60");
        await _rig.WaitForAsync(() => _rig.Get<DeviceRegistry>().TryGet(0x0000B001, out DeviceEntry e) && e.WalkTestUntil is not null, "walk test running");
        fleetA.Devices[0].Button.Press(1000);
        InstallerRun walked = await walk.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(walked.Exit == ExitCodes.Ok, walked.ToString());
        Assert.Contains("test=true", walked.Out, StringComparison.Ordinal);
        string envelope = await events.WaitForOutputLineAsync(l => l.Contains("\"kind\":\"alarm\"", StringComparison.Ordinal), Patience);
        Assert.Contains("\"deviceId\":\"0000B001\"", envelope, StringComparison.Ordinal);
        Assert.Contains("\"test\":true", envelope, StringComparison.Ordinal);
        string listed = (await _rig.InstallerAsync("list")).Out;
        Assert.Contains("active", listed, StringComparison.Ordinal);
        Assert.Contains("0000B001", listed, StringComparison.Ordinal);
        Assert.Contains("fw 1.0.0", listed, StringComparison.Ordinal);

        // Replace A with B: the site moves, A's account is gone.
        SimulatedFleet fleetB = await _rig.ClaimAsync(b);
        DeviceCredentials credentialsB = _rig.StoredCredentials(b);
        InstallerRun replace = await _rig.InstallerAsync("replace", "0000B001", "0000B002");
        Assert.True(replace.Exit == ExitCodes.Ok, replace.ToString());
        Assert.Contains("0000B002", replace.Out, StringComparison.Ordinal);

        ProcessResult refused = await _rig.PublishAsync("0000B001", credentialsA.Password, Topics.DeviceUplink(0x0000B001), "after replace");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("not authorised", refused.StandardError, StringComparison.OrdinalIgnoreCase);
        await _rig.WaitForAsync(() => !fleetA.Devices[0].Link!.IsConnected, "the broker to drop device A");

        IReadOnlyList<DeviceRow> rows = await _rig.Get<DeviceLifecycle>().ListAsync(CancellationToken.None);
        DeviceRow oldRow = rows.Single(r => r.DeviceId == "0000B001");
        DeviceRow newRow = rows.Single(r => r.DeviceId == "0000B002");
        Assert.Equal(DeviceState.Replaced, oldRow.State);
        Assert.Equal("0000B002", oldRow.ReplacedBy);
        Assert.Equal("11140", newRow.DistrictCode);
        Assert.Equal("R-7F3K2Q", newRow.SiteReference);
        Assert.Equal("1.0.1", newRow.FirmwareVersion);
        Assert.False(_rig.Get<DeviceRegistry>().TryGet(0x0000B001, out _));
        Assert.Equal(0, _rig.Count("SELECT length(key) FROM devices WHERE id = 45057"));

        // B still speaks: its heartbeats keep arriving under its own account.
        await _rig.WaitForAsync(() => fleetB.Devices[0].Bell.HeartbeatsSent > 2 && _rig.Get<DeviceRegistry>().TryGet(0x0000B002, out DeviceEntry e) && e.LastSeen is not null, "device B heard");

        // No key, password or claim code in any log or output.
        string everything = _rig.Logs.Text + _rig.DeviceLog + _rig.Broker.ReadLog() + discover + wrong + claim + bind + walked + replace;
        foreach (string secret in new[]
        {
            credentialsA.Password, credentialsB.Password, Convert.ToHexString(credentialsA.Key), Convert.ToHexStringLower(credentialsA.Key),
            Convert.ToHexString(credentialsB.Key), Convert.ToHexStringLower(credentialsB.Key),
            ClaimCode.Normalize(a.ClaimCode, out _)!, a.ClaimCode, ClaimCode.Normalize(b.ClaimCode, out _)!, b.ClaimCode,
        })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task A_device_account_reaches_only_its_own_topics_at_the_broker()
    {
        FactoryIdentity a = ProvisioningRig.NewIdentity(0x0000B011);
        FactoryIdentity b = ProvisioningRig.NewIdentity(0x0000B012);
        await _rig.ClaimAsync(a);
        await _rig.PowerOffAsync(await _rig.ClaimAsync(b));
        DeviceCredentials credentialsB = _rig.StoredCredentials(b);
        string probe = _rig.ProbePassword;
        await using RunningProcess uplinks = await _rig.SubscribeAsync("probe", probe, Topics.Root + "/d/+/up");

        // B forging on A's uplink and writing A's downlink goes nowhere; its own uplink arrives.
        await _rig.PublishAsync("0000B012", credentialsB.Password, Topics.DeviceUplink(0x0000B011), "forged-by-b");
        await _rig.PublishAsync("0000B012", credentialsB.Password, Topics.ProvisioningHello(0x0000B011), "hello-by-b");
        await _rig.PublishAsync("0000B012", credentialsB.Password, Topics.DeviceUplink(0x0000B012), "marker-from-b");
        await uplinks.WaitForOutputLineAsync(l => l.Contains("marker-from-b", StringComparison.Ordinal), Patience);
        Assert.DoesNotContain(uplinks.OutputLines, l => l.Contains("forged-by-b", StringComparison.Ordinal));

        // B may not subscribe to A's downlink (SUBACK failure, 128) but may to its own.
        await using (RunningProcess foreign = await _rig.SubscribeAsync("0000B012", credentialsB.Password, Topics.DeviceDownlink(0x0000B011)))
        {
            Assert.Contains(foreign.OutputLines, l => l.Contains("Subscribed (mid: 1): 128", StringComparison.Ordinal));
        }

        await using (RunningProcess own = await _rig.SubscribeAsync("0000B012", credentialsB.Password, Topics.DeviceDownlink(0x0000B012)))
        {
            Assert.Contains(own.OutputLines, l => l.Contains("Subscribed (mid: 1): 1", StringComparison.Ordinal));
        }

        // An anonymous (unclaimed) client reaches the provisioning topics only.
        await _rig.PublishAsync(null, null, Topics.DeviceUplink(0x0000B011), "forged-anonymously");
        await _rig.PublishAsync("0000B012", credentialsB.Password, Topics.DeviceUplink(0x0000B012), "second-marker");
        await uplinks.WaitForOutputLineAsync(l => l.Contains("second-marker", StringComparison.Ordinal), Patience);
        Assert.DoesNotContain(uplinks.OutputLines, l => l.Contains("forged-anonymously", StringComparison.Ordinal));
        await using (RunningProcess anonymous = await _rig.SubscribeAsync(null, null, Topics.DeviceDownlink(0x0000B011)))
        {
            Assert.Contains(anonymous.OutputLines, l => l.Contains("Subscribed (mid: 1): 128", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_broker_policy_can_be_applied_again_as_after_a_restart_and_still_confines_anonymous_clients()
    {
        DynamicSecurity dynamicSecurity = _rig.Get<DynamicSecurity>();

        await dynamicSecurity.EnsureBrokerPolicyAsync(CancellationToken.None);
        await dynamicSecurity.EnsureBrokerPolicyAsync(CancellationToken.None);

        await using RunningProcess anonymous = await _rig.SubscribeAsync(null, null, Topics.DeviceDownlink(0x0000B031));
        Assert.Contains(anonymous.OutputLines, l => l.Contains("Subscribed (mid: 1): 128", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Malformed_provisioning_messages_are_dropped_counted_and_claiming_still_works()
    {
        FactoryIdentity a = ProvisioningRig.NewIdentity(0x0000B021);
        Task<SimulatedFleet> device = _rig.PowerOn(a);
        await _rig.WaitForHelloAsync(a);

        await _rig.PublishAsync(null, null, Topics.ProvisioningHello(0x0000C001), "garbage");
        await _rig.PublishAsync(null, null, Topics.Root + "/prov/not-an-id/hello", "garbage");
        await _rig.PublishAsync("probe", _rig.ProbePassword, Topics.ProvisioningCredentials(0x0000B021), "not sealed credentials");

        // A real hello of A replayed under another device's topic is a mismatch.
        byte[] helloOfA = _rig.Get<HelloBoard>().Find(0x0000B021)!.Raw;
        string file = Path.Combine(_rig.Directory, "hello.bin");
        await File.WriteAllBytesAsync(file, helloOfA);
        (await ProcessRunner.RunAsync("mosquitto_pub", [.. _rig.Peer(null, null), "-t", Topics.ProvisioningHello(0x0000C002), "-f", file], Patience)).EnsureSuccess();

        await _rig.WaitForAsync(() => _rig.DeviceLog.ToString().Contains("provisioning messages dropped: 1", StringComparison.Ordinal), "device dropping the bad credentials");
        string metrics = "";
        await _rig.WaitForAsync(
            () =>
            {
                metrics = _rig.MetricsAsync().GetAwaiter().GetResult();
                return Prometheus.Value(metrics, "anshimi_gateway_provisioning_dropped_total{reason=\"malformed\"}") == 1 &&
                    Prometheus.Value(metrics, "anshimi_gateway_provisioning_dropped_total{reason=\"bad_topic\"}") == 1 &&
                    Prometheus.Value(metrics, "anshimi_gateway_provisioning_dropped_total{reason=\"topic_mismatch\"}") == 1;
            },
            "drop counters");
        InstallerRun discover = await _rig.InstallerAsync("discover");
        Assert.DoesNotContain("0000C00", discover.Out, StringComparison.Ordinal);

        // None of it reached the alarm pipeline as a reject, and the device is still claimable.
        Assert.Equal(0, Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"bad_topic\"}"));
        InstallerRun claim = await _rig.InstallerAsync("claim", a.DeviceIdText, "--code", a.LabelPayload);
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        await device.WaitAsync(Patience);
    }

    [Fact]
    public async Task Installer_errors_name_the_problem_and_exit_with_its_status()
    {
        InstallerRun unknown = await _rig.InstallerAsync("claim", "0000BEEF", "--code", ClaimCode.NewCode(), "--key", new string('7', 64));
        Assert.Equal(ExitCodes.Refused, unknown.Exit);
        Assert.Contains("인사 메시지가 최근에 없었습니다", unknown.Err, StringComparison.Ordinal);

        InstallerRun malformed = await _rig.InstallerAsync("claim", "0000BEEF", "--code", "short", "--lang", "en");
        Assert.Equal(ExitCodes.BadInput, malformed.Exit);
        Assert.Contains("claim code is malformed", malformed.Err, StringComparison.Ordinal);

        InstallerRun keyless = await _rig.InstallerAsync("claim", "0000BEEF", "--code", ClaimCode.NewCode(), "--lang", "en");
        Assert.Equal(ExitCodes.BadInput, keyless.Exit);
        Assert.Contains("scan the QR code", keyless.Err, StringComparison.Ordinal);

        InstallerRun oldLabel = await _rig.InstallerAsync("claim", "0000BEEF", "--code", "ANSHIMI:1:0000BEEF:" + ClaimCode.Normalize(ClaimCode.NewCode(), out _), "--lang", "en");
        Assert.Equal(ExitCodes.BadInput, oldLabel.Exit);
        Assert.Contains("version-1 label", oldLabel.Err, StringComparison.Ordinal);

        InstallerRun notBound = await _rig.InstallerAsync("bind", "0000BEEF", "--kind", "home", "--address", "x", "--lat", "35.1796", "--lon", "129.0756", "--ref", "010-1234-5678", "--lang", "en");
        Assert.Equal(ExitCodes.BadInput, notBound.Exit);
        Assert.Contains("latitude: the point 35.1796, 129.0756 is not inside a Seoul district (outside_seoul)", notBound.Err, StringComparison.Ordinal);
        Assert.Contains("site_ref: ", notBound.Err, StringComparison.Ordinal);

        string wrongToken = Path.Combine(_rig.Directory, "wrong.token");
        await File.WriteAllTextAsync(wrongToken, "0123456789abcdef0123456789abcdef0123456789", Encoding.ASCII);
        InstallerRun badToken = await _rig.InstallerWithTokenAsync(wrongToken, "list");
        Assert.Equal(ExitCodes.Unreachable, badToken.Exit);
        Assert.Contains("관리자 토큰이 틀렸습니다", badToken.Err, StringComparison.Ordinal);

        InstallerRun walk = await _rig.InstallerAsync("walk-test", "0000BEEF", "--timeout", "1");
        Assert.Equal(ExitCodes.Refused, walk.Exit);
        InstallerRun unconfirmed = await _rig.InstallerAsync("decommission", "0000BEEF");
        Assert.Equal(ExitCodes.BadInput, unconfirmed.Exit);
        Assert.Contains("--yes", unconfirmed.Err, StringComparison.Ordinal);
    }
}
