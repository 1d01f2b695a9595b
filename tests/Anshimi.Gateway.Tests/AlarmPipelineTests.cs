using Anshimi.Gateway.Pipeline;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Tests;

public sealed class AlarmPipelineTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    private TestDevice Shop => _gateway.Devices[1];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Accepted_alarm_is_committed_before_its_ack_is_published()
    {
        long storedWhenAcked = -1;
        _gateway.Mqtt.BeforePublish = message =>
        {
            if (message.Topic == Bell.DownlinkTopic)
            {
                // A separate connection sees only committed data.
                storedWhenAcked = _gateway.Count("SELECT count(*) FROM alarms a JOIN outbox o USING (device_id, counter) WHERE a.counter = 7");
            }
        };

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(7), CancellationToken.None);

        Assert.Equal(UplinkOutcome.Accepted, result.Outcome);
        Assert.Equal(1, storedWhenAcked);
        PublishedMessage ack = Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic));
        Assert.Equal(MqttQos.AtLeastOnce, ack.Qos);
        Assert.False(ack.Retain);
        Frame frame = Assert.IsType<Frame>(Bell.ReadDownlink(ack.Payload));
        Assert.Equal(FrameType.Ack, frame.Type);
        Assert.Equal(Bell.Id, frame.DeviceId);
        Assert.Equal(7u, frame.AckedCounter);
        Assert.Equal(AckStage.Received, frame.AckStage);
        Assert.Equal(1u, frame.Counter);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_alarms_received_total{outcome=\"stored\"}"));
        Assert.Equal(7, _gateway.Count("SELECT highest_counter FROM devices WHERE id = 0xA1B2"));
    }

    [Fact]
    public async Task Resent_alarm_is_acked_again_with_a_fresh_counter_but_stored_once()
    {
        byte[] alarm = Bell.Alarm(3);
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, alarm, CancellationToken.None);

        UplinkResult again = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, alarm, CancellationToken.None);

        Assert.Equal(UplinkOutcome.Duplicate, again.Outcome);
        Frame[] acks = [.. _gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Select(m => Bell.ReadDownlink(m.Payload)!)];
        Assert.Equal(2, acks.Length);
        Assert.All(acks, a => Assert.Equal(3u, a.AckedCounter));
        Assert.All(acks, a => Assert.Equal(AckStage.Received, a.AckStage));
        Assert.True(acks[1].Counter > acks[0].Counter);
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM alarms"));
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM outbox"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_alarms_received_total{outcome=\"duplicate\"}"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_alarms_received_total{outcome=\"stored\"}"));
    }

    [Fact]
    public async Task Unseen_alarm_that_arrives_late_within_the_window_is_accepted_not_lost()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(10), CancellationToken.None);
        _gateway.Mqtt.Clear();

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(9), CancellationToken.None);

        Assert.Equal(UplinkOutcome.Accepted, result.Outcome);
        Assert.Equal(9u, Bell.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload)!.AckedCounter);
        Assert.Equal(2, _gateway.Count("SELECT count(*) FROM alarms"));

        // Once newer alarms have moved the window on, the same unseen old counter is a replay.
        UplinkResult older = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(10 + AlarmWindow.Size + 5), CancellationToken.None);
        Assert.Equal(UplinkOutcome.Accepted, older.Outcome);
        Assert.Equal(UplinkResult.Reject("replayed"), await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(8), CancellationToken.None));
    }

    [Fact]
    public async Task Unseen_counter_below_the_window_is_a_replay()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(AlarmWindow.Size + 10), CancellationToken.None);
        _gateway.Mqtt.Clear();

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(10), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("replayed"), result);
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM alarms"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_frames_rejected_total{reason=\"replayed\"}"));
    }

    [Fact]
    public async Task Frame_signed_with_another_key_is_rejected_as_bad_tag()
    {
        var impostor = new TestDevice(Bell.Id, 77);

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, impostor.Alarm(1), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("bad_tag"), result);
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM alarms"));
        Assert.Equal(0, _gateway.Count("SELECT highest_counter FROM devices WHERE id = 0xA1B2"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_frames_rejected_total{reason=\"bad_tag\"}"));
    }

    [Fact]
    public async Task Frame_from_an_unregistered_device_is_rejected()
    {
        var stranger = new TestDevice(0x00EE0001, 55);

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(stranger.UplinkTopic, stranger.Alarm(1), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("unknown_device"), result);
        Assert.Empty(_gateway.Mqtt.Published);
    }

    [Fact]
    public async Task Frame_on_another_devices_topic_is_rejected()
    {
        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Shop.UplinkTopic, Bell.Alarm(1), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("topic_mismatch"), result);
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM alarms"));
    }

    [Theory]
    [InlineData("anshimi/v1/d/0000A1B2/down")]
    [InlineData("anshimi/v1/d/0000A1B2/up/extra")]
    [InlineData("anshimi/v1/d/zzzzzzzz/up")]
    [InlineData("elsewhere")]
    public async Task Frame_on_a_topic_that_is_not_a_device_uplink_is_rejected(string topic)
    {
        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(topic, Bell.Alarm(1), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("bad_topic"), result);
    }

    [Fact]
    public async Task Heartbeat_updates_last_seen_in_batches_and_rejects_its_replay()
    {
        byte[] heartbeat = Bell.Heartbeat(4);

        Assert.Equal(UplinkOutcome.Heartbeat, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, heartbeat, CancellationToken.None)).Outcome);
        Assert.Equal(UplinkResult.Reject("replayed"), await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, heartbeat, CancellationToken.None));
        Assert.Equal(0, _gateway.Count("SELECT count(last_seen) FROM devices"));

        Assert.Equal(1, await _gateway.Registry.FlushActivityAsync(CancellationToken.None));

        Assert.Equal(_gateway.Time.GetUtcNow().ToUnixTimeMilliseconds(), _gateway.Count("SELECT last_seen FROM devices WHERE id = 0xA1B2"));
        Assert.Equal(4, _gateway.Count("SELECT heartbeat_counter FROM devices WHERE id = 0xA1B2"));
        Assert.Empty(_gateway.Mqtt.Published);
    }

    [Fact]
    public async Task Heartbeat_with_a_newer_counter_does_not_turn_a_resent_older_alarm_into_a_replay()
    {
        // The alarm's first send was lost; the bell's next heartbeat got through before its resend.
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(6), CancellationToken.None);

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(5), CancellationToken.None);

        Assert.Equal(UplinkOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public async Task Heartbeat_older_than_an_accepted_alarm_is_a_replay()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(20), CancellationToken.None);

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(19), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("replayed"), result);
        Assert.Equal(UplinkOutcome.Heartbeat, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(21), CancellationToken.None)).Outcome);
    }

    [Theory]
    [InlineData(FrameType.Ack, "wrong_direction")]
    [InlineData(FrameType.Beacon, "unexpected_type")]
    [InlineData(FrameType.Command, "wrong_direction")]
    [InlineData(FrameType.Escort, "wrong_direction")]
    public async Task Authentic_frame_of_a_type_devices_do_not_send_upstream_is_counted_and_dropped(FrameType type, string reason)
    {
        byte[] frame = Bell.Sign(type switch
        {
            FrameType.Ack => Frame.Ack(Bell.Id, 1, 1, AckStage.Received),
            FrameType.Beacon => FramePayloads.Beacon(Bell.Id, 1, LightMode.Schedule, false, 50),
            FrameType.Command => FramePayloads.Command(Bell.Id, 1, LightMode.Escort, 30),
            _ => FramePayloads.Escort(Bell.Id, 1),
        });

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, frame, CancellationToken.None);

        Assert.Equal(UplinkResult.Reject(reason), result);
        Assert.Empty(_gateway.Mqtt.Published);
    }

    [Fact]
    public async Task Alarm_stays_stored_when_its_ack_cannot_be_published_and_the_kept_ack_and_the_resends_follow_in_counter_order()
    {
        _gateway.Mqtt.RefusePublishes = true;
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(2), CancellationToken.None)).Outcome);
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM alarms"));
        Assert.Equal(1, _gateway.Get<DeviceDownlink>().Pending);

        // The device resends before the kept ack went out: its ack waits behind the kept one.
        _gateway.Mqtt.RefusePublishes = false;
        Assert.Equal(UplinkOutcome.Duplicate, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(2), CancellationToken.None)).Outcome);
        Assert.Empty(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic));

        // The retry comes within the reconnect policy's cap.
        _gateway.Time.Advance(new ReconnectBackoffOptions().MaxDelay);
        await Eventually(() => _gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Count == 2);

        Frame[] acks = [.. _gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Select(m => Bell.ReadDownlink(m.Payload)!)];
        Assert.All(acks, ack => Assert.Equal(2u, ack.AckedCounter));
        Assert.True(acks[0].Counter < acks[1].Counter, "the device accepts only rising downlink counters");
        Assert.Equal(0, _gateway.Get<DeviceDownlink>().Pending);
    }

    [Fact]
    public async Task A_broker_that_takes_no_ack_holds_up_no_alarm_and_the_acks_follow_once_it_answers()
    {
        // A connection to a broker that answers nothing: every publish hangs.
        _gateway.Mqtt.PublishGate = new TaskCompletionSource();

        Task<UplinkResult> first = _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(5), CancellationToken.None);
        Task<UplinkResult> second = _gateway.Pipeline.HandleUplinkAsync(Shop.UplinkTopic, Shop.Alarm(9), CancellationToken.None);

        Assert.Equal(UplinkOutcome.Accepted, (await first.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);
        Assert.Equal(UplinkOutcome.Accepted, (await second.WaitAsync(TimeSpan.FromSeconds(10))).Outcome);
        Assert.Equal(2, _gateway.Count("SELECT count(*) FROM alarms a JOIN outbox o USING (device_id, counter)"));
        Assert.Equal(2, _gateway.Get<DeviceDownlink>().Pending);

        // The first attempt gives up after Gateway:AckTimeout; the broker answers again before the retry.
        _gateway.Time.Advance(_gateway.Options.AckTimeout);
        TaskCompletionSource gate = _gateway.Mqtt.PublishGate;
        _gateway.Mqtt.PublishGate = null;
        gate.SetResult();
        await Eventually(() => _gateway.Get<DeviceDownlink>().Pending == 0, () => _gateway.Time.Advance(TimeSpan.FromMilliseconds(100)));

        Frame bellAck = Bell.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload)!;
        Frame shopAck = Shop.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Shop.DownlinkTopic)).Payload)!;
        Assert.Equal(5u, bellAck.AckedCounter);
        Assert.Equal(9u, shopAck.AckedCounter);
    }

    private static async Task Eventually(Func<bool> condition, Action? meanwhile = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            meanwhile?.Invoke();
            await Task.Delay(20, timeout.Token);
        }
    }

    [Fact]
    public async Task Alarm_that_cannot_be_stored_is_not_acked_and_the_pipeline_keeps_running()
    {
        // A trigger stands in for a failing disk: every alarm insert aborts.
        using (var connection = new SqliteConnection("Data Source=" + _gateway.DatabasePath + ";Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse BEFORE INSERT ON alarms BEGIN SELECT RAISE(ABORT, 'disk full'); END;";
            command.ExecuteNonQuery();
        }

        UplinkResult result = await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(8), CancellationToken.None);

        Assert.Equal(UplinkResult.Reject("store_failed"), result);
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM outbox"));
        Assert.Equal(0, _gateway.Count("SELECT highest_counter FROM devices WHERE id = 0xA1B2"));
        Assert.Equal(UplinkOutcome.Heartbeat, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(9), CancellationToken.None)).Outcome);
    }
}
