using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Tests.Storage;

/// <summary>
/// A gateway whose store is restored from a backup resynchronises its downlink counters on the real SQLite store: the
/// bell and the light, which accepted counters signed after the backup, still accept what the restored gateway signs.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class StoreRestoreTests : IAsyncLifetime
{
    private const uint LightId = 0x5A000001;

    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_store_restored_from_a_backup_signs_downlinks_above_every_counter_signed_since_the_backup()
    {
        // The bell's own floor, as its firmware keeps it: every ack it accepted.
        var bellFloor = new CounterWindow(0);
        await AlarmAsync(1, bellFloor);
        uint lightCounter = await _gateway.Get<LightStore>().TakeDownlinkCounterAsync(LightId, CancellationToken.None);
        string backup = Path.Combine(_gateway.Directory, "backup.db");
        _gateway.BackupTo(backup);

        // After the backup: more alarms acked, more light commands signed.
        for (uint counter = 2; counter <= 6; counter++)
        {
            await AlarmAsync(counter, bellFloor);
        }

        for (int i = 0; i < 100; i++)
        {
            lightCounter = await _gateway.Get<LightStore>().TakeDownlinkCounterAsync(LightId, CancellationToken.None);
        }

        // The box dies; an hour later a new one starts on the backup.
        _gateway.Time.Advance(TimeSpan.FromHours(1));
        _gateway = await _gateway.RestoreAsync(backup);

        await AlarmAsync(7, bellFloor);
        uint restoredLight = await _gateway.Get<LightStore>().TakeDownlinkCounterAsync(LightId, CancellationToken.None);
        Assert.True(restoredLight > lightCounter, "light command " + restoredLight + " not above " + lightCounter);
        Assert.True(restoredLight >= _gateway.Time.GetUtcNow().ToUnixTimeSeconds());
    }

    [Fact]
    public async Task A_restored_gateway_re_keys_a_version_2_bell_past_the_epoch_of_its_next_frame_so_alarms_recorded_after_the_backup_are_refused()
    {
        Assert.Equal(UplinkOutcome.Accepted, (await V2Async(Frame.Alarm(Bell.Id, 1, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1), 0)).Outcome);
        string backup = Path.Combine(_gateway.Directory, "backup.db");
        _gateway.BackupTo(backup);

        // After the backup the bell sends two more alarms; someone records them.
        byte[][] recorded = [.. new uint[] { 2, 3 }.Select(c => Bell.SealV2(Frame.Alarm(Bell.Id, c, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1)))];
        foreach (byte[] alarm in recorded)
        {
            Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, alarm, CancellationToken.None)).Outcome);
        }

        _gateway.Time.Advance(TimeSpan.FromHours(1));
        _gateway = await _gateway.RestoreAsync(backup);

        // The bell's next frame, still in epoch 0, is answered with a re-key to epoch 1.
        Assert.Equal(UplinkOutcome.Heartbeat, (await V2Async(HeartbeatFrame(10), 0)).Outcome);
        Frame rekey = await LastDownlinkAsync(FrameType.Rekey);
        Assert.Equal(1, rekey.Payload[0]);

        // Moved, the bell's frames of epoch 1 are taken and the re-key is done; the recorded alarms are stale.
        Assert.Equal(UplinkOutcome.Heartbeat, (await V2Async(HeartbeatFrame(11), 1)).Outcome);
        Assert.True(_gateway.Get<Gateway.Storage.DeviceRegistry>().TryGet(Bell.Id, out Gateway.Storage.DeviceEntry entry));
        Assert.Equal(0, entry.RekeyEpoch);
        foreach (byte[] alarm in recorded)
        {
            Assert.Equal("stale_epoch", (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, alarm, CancellationToken.None)).Reason);
        }
    }

    [Fact]
    public async Task A_plain_restart_keeps_its_counters_as_they_are()
    {
        var bellFloor = new CounterWindow(0);
        await AlarmAsync(1, bellFloor);
        _gateway.Time.Advance(TimeSpan.FromSeconds(30));

        _gateway = await _gateway.RestartAsync();

        await AlarmAsync(2, bellFloor);
        Assert.Equal(2u, bellFloor.Highest);
    }

    private Task<UplinkResult> V2Async(Frame frame, byte epoch) =>
        _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.SealV2(frame, epoch), CancellationToken.None);

    private Frame HeartbeatFrame(uint counter) => new(FrameType.Heartbeat, Bell.Id, counter, ContactIdCode.None, ContactIdQualifier.None, 0, [0, 0xFF]);

    private async Task<Frame> LastDownlinkAsync(FrameType type)
    {
        for (int i = 0; i < 100; i++)
        {
            Frame? found = _gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Select(m => Bell.ReadDownlinkV2(m.Payload)).LastOrDefault(f => f?.Type == type);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no " + type + " published to the bell");
    }

    /// <summary>The bell's alarm is stored and acked; the bell accepts the ack only above its floor.</summary>
    private async Task AlarmAsync(uint counter, CounterWindow bellFloor)
    {
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(counter), CancellationToken.None)).Outcome);
        Frame ack = Assert.IsType<Frame>(Bell.ReadDownlink(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Last().Payload));
        Assert.Equal(counter, ack.AckedCounter);
        Assert.True(bellFloor.TryAccept(ack.Counter), "the bell refuses ack " + ack.Counter + " at floor " + bellFloor.Highest);
    }
}
