using System.Text.Json;
using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// A gateway serves version-2 and version-1 devices side by side (protocol/README.md §10): sealed uplinks are
/// resolved, opened and answered in version 2, version-1 frames are counted, and key epochs only move forward,
/// across restarts too.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class FrameVersion2Tests : IAsyncLifetime
{
    private static readonly Lazy<JsonElement[]> Vectors = new(() =>
        [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "frames.json")))
            .RootElement.GetProperty("v2").EnumerateArray()]);

    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    /// <summary>Version-2 vectors a gateway refuses; the gateway knows only 0000A001 under key device-a, as the vectors say.</summary>
    public static IEnumerable<object[]> GatewayVectors =>
        Vectors.Value.Where(v => v.TryGetProperty("receiver", out JsonElement r) && r.GetString() == "gateway").Select(v => new object[] { v.GetProperty("name").GetString()! });

    public async Task InitializeAsync() =>
        _gateway = await GatewayHarness.StartAsync(GatewayHarness.CreateDirectory(), new FakeMqttClient(), GatewayHarness.NewClock(),
            [new TestDevice(0x0000A001, 0x00), new TestDevice(0x0000C3D4, 101, "shop-panic"), new TestDevice(0x0000C3D5, 151)]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [MemberData(nameof(GatewayVectors))]
    public async Task A_gateway_refuses_each_of_its_version_2_vectors_with_the_expected_reason(string name)
    {
        JsonElement v = Vectors.Value.Single(x => x.GetProperty("name").GetString() == name);
        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        if (v.TryGetProperty("floor", out JsonElement floor))
        {
            Assert.True(_gateway.Registry.TryGet(0x0000A001, out var device));
            await _gateway.Registry.MoveUplinkEpochAsync(device, floor.GetProperty("epoch").GetByte(), CancellationToken.None);
        }

        string reason;
        if (v.TryGetProperty("topic", out JsonElement topic))
        {
            reason = (await _gateway.Pipeline.HandleUplinkAsync(topic.GetString()!, frame, CancellationToken.None)).Reason!;
        }
        else
        {
            // Heard over BLE: the id is resolved against every device the gateway serves.
            Assert.False(_gateway.Get<UplinkAuthenticator>().TryResolve(frame, out _, out _, out UplinkRejection rejection));
            reason = rejection.Reason;
        }

        Assert.Equal(v.GetProperty("expect").GetString(), reason);
        Assert.Empty(_gateway.Mqtt.Published);
    }

    [Fact]
    public async Task A_sealed_alarm_is_stored_as_sealed_and_acked_in_version_2()
    {
        byte[] duress = Bell.SealV2(Frame.Alarm(Bell.Id, 41, ContactIdCode.Duress, ContactIdQualifier.NewEvent, 3));

        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, duress, CancellationToken.None)).Outcome);

        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM alarms WHERE device_id = 40961 AND counter = 41 AND event_code = 121 AND frame = x'" + Convert.ToHexString(duress) + "'"));
        byte[] published = Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload;
        Assert.Equal(0x21, published[0]);
        Assert.Null(Bell.ReadDownlink(published));
        Frame ack = Bell.ReadDownlinkV2(published)!;
        Assert.Equal(41u, ack.AckedCounter);
        Assert.Equal(AckStage.Received, ack.AckStage);
        Assert.Equal(0, _gateway.Metric("anshimi_gateway_frames_v1_total"));
    }

    [Fact]
    public async Task Version_1_frames_are_counted_and_answered_in_version_1_until_the_device_speaks_version_2()
    {
        TestDevice shop = _gateway.Devices[1];
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(shop.UplinkTopic, shop.Alarm(5), CancellationToken.None)).Outcome);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_frames_v1_total"));
        Assert.NotNull(shop.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(shop.DownlinkTopic)).Payload));

        // After its update the device seals its frames; a version-1 frame of it is then a recording from before.
        byte[] heartbeat = shop.SealV2(new Frame(FrameType.Heartbeat, shop.Id, 6, 0, 0, 0, [0x00, 90]));
        Assert.Equal(UplinkOutcome.Heartbeat, (await _gateway.Pipeline.HandleUplinkAsync(shop.UplinkTopic, heartbeat, CancellationToken.None)).Outcome);
        Assert.Equal(AlarmPipeline.VersionDowngrade, (await _gateway.Pipeline.HandleUplinkAsync(shop.UplinkTopic, shop.Heartbeat(7), CancellationToken.None)).Reason);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_frames_v1_total"));

        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(shop.UplinkTopic, shop.SealV2(Frame.Alarm(shop.Id, 8, ContactIdCode.SilentPanic, ContactIdQualifier.NewEvent, 1)), CancellationToken.None)).Outcome);
        Assert.Equal(8u, shop.ReadDownlinkV2(_gateway.Mqtt.PublishedTo(shop.DownlinkTopic).Last().Payload)!.AckedCounter);
        Assert.Equal(2, _gateway.Count("SELECT frame_version FROM devices WHERE id = 50132"));
    }

    [Fact]
    public async Task A_newer_key_epoch_moves_the_device_durably_and_frames_of_the_older_epoch_are_stale_after_a_restart()
    {
        byte[] epoch0 = Bell.SealV2(Frame.Alarm(Bell.Id, 10, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1));
        byte[] epoch0Later = Bell.SealV2(Frame.Alarm(Bell.Id, 11, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1));
        byte[] epoch1 = Bell.SealV2(Frame.Alarm(Bell.Id, 12, ContactIdCode.Duress, ContactIdQualifier.NewEvent, 1), epoch: 1);
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, epoch0, CancellationToken.None)).Outcome);
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, epoch1, CancellationToken.None)).Outcome);

        _gateway = await _gateway.RestartAsync();

        Assert.Equal("stale_epoch", (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, epoch0Later, CancellationToken.None)).Reason);
        Assert.Equal("stale_epoch", (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, epoch0, CancellationToken.None)).Reason);
        Assert.Equal(UplinkOutcome.Duplicate, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, epoch1, CancellationToken.None)).Outcome);
        Assert.Equal(1, _gateway.Count("SELECT uplink_epoch FROM devices WHERE id = 40961"));
    }

    [Fact]
    public async Task Over_BLE_a_sealed_frame_resolves_to_the_one_device_whose_key_made_it()
    {
        var authenticator = _gateway.Get<UplinkAuthenticator>();
        foreach (TestDevice device in _gateway.Devices)
        {
            byte[] heartbeat = device.SealV2(new Frame(FrameType.Heartbeat, device.Id, 3, 0, 0, 0, [0x00, 55]));

            Assert.True(authenticator.TryResolve(heartbeat, out Frame? frame, out var owner, out _));
            Assert.Equal(device.Id, owner.Id);
            Assert.Equal(FrameType.Heartbeat, frame.Type);
            Assert.Equal(3u, frame.Counter);
        }

        await Task.CompletedTask;
    }
}
