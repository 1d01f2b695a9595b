using Anshimi.Gateway.Pipeline;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests;

public sealed class OperatorAckRelayTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync()
    {
        _gateway = await GatewayHarness.StartAsync();
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(42), CancellationToken.None);
        _gateway.Mqtt.Clear();
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Operator_ack_reaches_the_device_with_a_fresh_counter_and_is_reported_upstream()
    {
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Acknowledged), CancellationToken.None);

        Frame ack = Bell.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload)!;
        Assert.Equal(AckStage.OperatorAcknowledged, ack.AckStage);
        Assert.Equal(42u, ack.AckedCounter);
        Assert.Equal(2u, ack.Counter);
        AckRelayedEnvelope relayed = Assert.IsType<AckRelayedEnvelope>(Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)).ParseEnvelope());
        Assert.Equal("0000A1B2:42", relayed.Key);
        Assert.Equal(AckStageName.Acknowledged, relayed.Stage);
        Assert.Equal((int)AckStage.OperatorAcknowledged, _gateway.Count("SELECT stage FROM alarms WHERE counter = 42"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_acks_relayed_total{stage=\"acknowledged\"}"));

        // The device is told "ack sent" only after the ack frame went out.
        Assert.Equal(Bell.DownlinkTopic, _gateway.Mqtt.Published[0].Topic);
    }

    [Fact]
    public async Task Repeated_relay_uses_a_new_downlink_counter_each_time()
    {
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Acknowledged), CancellationToken.None);
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Acknowledged), CancellationToken.None);
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Resolved), CancellationToken.None);

        Frame[] acks = [.. _gateway.Mqtt.PublishedTo(Bell.DownlinkTopic).Select(m => Bell.ReadDownlink(m.Payload)!)];
        Assert.Equal([2u, 3u, 4u], acks.Select(a => a.Counter));
        Assert.Equal([AckStage.OperatorAcknowledged, AckStage.OperatorAcknowledged, AckStage.Resolved], acks.Select(a => a.AckStage));
        Assert.Equal((int)AckStage.Resolved, _gateway.Count("SELECT stage FROM alarms WHERE counter = 42"));
    }

    [Fact]
    public async Task Late_acknowledged_after_resolved_does_not_move_the_stored_stage_back()
    {
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Resolved), CancellationToken.None);
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Acknowledged), CancellationToken.None);

        Assert.Equal((int)AckStage.Resolved, _gateway.Count("SELECT stage FROM alarms WHERE counter = 42"));
    }

    [Theory]
    [InlineData("0000A1B2:41", AckStageName.Acknowledged, "unknown_alarm")]
    [InlineData("00EE0001:1", AckStageName.Acknowledged, "unknown_alarm")]
    [InlineData("0000A1B2", AckStageName.Acknowledged, "bad_key")]
    [InlineData("0000A1B2:42", "received", "bad_stage")]
    public async Task Operator_ack_that_does_not_match_a_stored_alarm_is_counted_and_ignored(string key, string stage, string reason)
    {
        await _gateway.Commands.HandleAsync(OperatorAck(key, stage), CancellationToken.None);

        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_commands_rejected_total{reason=\"" + reason + "\"}"));
    }

    [Fact]
    public async Task An_ack_the_broker_cannot_take_is_kept_and_reaches_the_device_and_the_cloud_once_the_broker_is_back()
    {
        _gateway.Mqtt.RefusePublishes = true;
        await _gateway.Commands.HandleAsync(OperatorAck("0000A1B2:42", AckStageName.Acknowledged), CancellationToken.None);

        Assert.Equal((int)AckStage.OperatorAcknowledged, _gateway.Count("SELECT stage FROM alarms WHERE counter = 42"));
        Assert.Empty(_gateway.Mqtt.Published);
        Assert.Equal(1, _gateway.Get<DeviceDownlink>().Pending);

        _gateway.Mqtt.RefusePublishes = false;
        _gateway.Time.Advance(new ReconnectBackoffOptions().MaxDelay);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Count == 0)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        Frame ack = Bell.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload)!;
        Assert.Equal(AckStage.OperatorAcknowledged, ack.AckStage);
        Assert.Equal(42u, ack.AckedCounter);

        // Signed again at the retry with a counter the device has not seen.
        Assert.True(ack.Counter > 2u, "counter " + ack.Counter);
        Assert.IsType<AckRelayedEnvelope>(Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)).ParseEnvelope());
        Assert.Equal(Bell.DownlinkTopic, _gateway.Mqtt.Published[0].Topic);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_acks_relayed_total{stage=\"acknowledged\"}"));
        Assert.Equal(0, _gateway.Get<DeviceDownlink>().Pending);
    }

    private static byte[] OperatorAck(string key, string stage) =>
        EnvelopeSerializer.Serialize(new OperatorAckEnvelope(key, stage, "operator-07", new DateTimeOffset(2026, 3, 4, 21, 31, 0, TimeSpan.Zero)));
}
