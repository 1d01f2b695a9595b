using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// Key epochs end to end (protocol/README.md §10, re-key) on a real Mosquitto, the gateway hosted with its installer API
/// and a simulated bell claimed through the installer journey: the bell, whose flash says it has already sent almost
/// 2³² frames, wraps to epoch 1 on its own; the installer's <c>rekey</c> moves it to epoch 2; it keeps alarming and
/// taking acks throughout, and every frame recorded on the broker before a move is refused as stale_epoch after it.
/// </summary>
[Trait("Category", "Protocol")]
[Trait("Category", "Integration")]
public sealed class RekeyJourneyTests : IAsyncLifetime
{
    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_bell_near_its_counter_wrap_moves_epoch_keeps_alarming_and_a_commanded_re_key_moves_it_again()
    {
        FactoryIdentity identity = ProvisioningRig.NewIdentity(0x0000B0E1);
        uint id = identity.DeviceId;

        // The bell's stored state, as its flash would hold it after ~2³² frames: epoch 0, counters reserved to 12 short of the wrap.
        var record = new byte[EpochCounterFloor.RecordLength];
        EpochCounterFloor.WriteRecord(0, FrameCounter.DefaultWrapAt - 12, record, 0);
        Assert.True(new FlashStorage(Path.Combine(_rig.StateRoot, identity.DeviceIdText)).Write(FrameCounter.RecordName, record));

        await using RunningProcess uplinks = await _rig.SubscribeHexAsync(Topics.DeviceUplink(id));
        SimulatedFleet fleet = await _rig.ClaimAsync(identity);
        SimulatedDevice bell = fleet.Devices[0];
        DeviceRegistry registry = _rig.Get<DeviceRegistry>();

        // Heartbeats every second carry it over the wrap: epoch 1, counting from 1 again.
        await _rig.WaitForAsync(() => bell.Bell.KeyEpoch == 1 && registry.TryGet(id, out DeviceEntry e) && e.UplinkEpoch == 1, "the wrap to epoch 1");
        Assert.True(bell.Bell.NextCounter < 100, "counting again from 1: " + bell.Bell.NextCounter);
        await PressAndAckedAsync(bell, 1);

        // The installer's re-key, as after a suspected recording.
        InstallerRun rekey = await _rig.InstallerAsync("rekey", identity.DeviceIdText, "--lang", "en");
        Assert.True(rekey.Exit == ExitCodes.Ok, rekey.ToString());
        Assert.Contains("→ 2", rekey.Out, StringComparison.Ordinal);
        await _rig.WaitForAsync(
            () => bell.Bell.KeyEpoch == 2 && registry.TryGet(id, out DeviceEntry e) && e.UplinkEpoch == 2 && e.RekeyEpoch == 0,
            "the commanded re-key to epoch 2");
        await PressAndAckedAsync(bell, 2);

        // Everything recorded on the broker before the moves, alarms included, replayed into the gateway's real pipeline.
        AlarmPipeline pipeline = _rig.Get<AlarmPipeline>();
        var opened = new FrameCodecV2(new Anshimi.Protocol.Upstream.PlatformHmacSha256());
        var keys = new FrameKeySet(new Anshimi.Protocol.Upstream.PlatformHmacSha256(), _rig.StoredCredentials(identity).Key, 0);
        List<(byte[] Bytes, Frame Frame)> recorded = [.. ProvisioningRig.HexPayloads(uplinks)
            .Select(bytes => (bytes, opened.Decode(bytes, 0, bytes.Length, FrameDirectionBit.Uplink, id, keys).Frame!))
            .Where(r => r.Item2 is not null && r.Item2.Epoch < 2)];
        Assert.Contains(recorded, r => r.Frame.Epoch == 0 && r.Frame.Type == FrameType.Heartbeat);
        Assert.Contains(recorded, r => r.Frame.Epoch == 1 && r.Frame.Type == FrameType.Alarm);
        foreach ((byte[] bytes, Frame frame) in recorded)
        {
            UplinkResult result = await pipeline.HandleUplinkAsync(Topics.DeviceUplink(id), bytes, CancellationToken.None);
            Assert.True(result.Reason == "stale_epoch", "epoch " + frame.Epoch + " " + frame.Type + " " + frame.Counter + ": " + result);
        }

        Assert.True(Prometheus.Value(await _rig.MetricsAsync(), "anshimi_gateway_rekeys_total{outcome=\"moved\"}") >= 1);
    }

    private async Task PressAndAckedAsync(SimulatedDevice bell, byte epoch)
    {
        uint before = bell.Bell.NewestAlarmCounter;
        bell.Button.Press(600);
        await _rig.WaitForAsync(
            () => bell.Bell.NewestAlarmCounter != before && bell.Bell.PendingAlarmCount == 0 && bell.Bell.LedState == LedState.ReceivedByGateway,
            "an alarm in epoch " + epoch + " acked");
        Assert.Equal(epoch, bell.Bell.KeyEpoch);
    }
}
