using System.Text;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Pipeline;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests;

public sealed class AlarmOutboxTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Stored_alarm_is_forwarded_at_once_as_an_alarm_envelope_with_site_profile_and_original_frame()
    {
        byte[] frame = Bell.Alarm(12, ContactIdCode.Duress, 4);
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, frame, CancellationToken.None);

        // Sent while it was being stored: nothing is due for the worker's round until its resend.
        Assert.Equal(0, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(1, _gateway.Count("SELECT attempts FROM outbox"));

        PublishedMessage message = Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic));
        Assert.Equal(MqttQos.AtLeastOnce, message.Qos);
        AlarmEnvelope alarm = Assert.IsType<AlarmEnvelope>(message.ParseEnvelope());
        Assert.Equal("0000A1B2:12", alarm.Key);
        Assert.Equal(GatewayHarness.GatewayId, alarm.GatewayId);
        Assert.Equal("0000A1B2", alarm.DeviceId);
        Assert.Equal(12u, alarm.Counter);
        Assert.Equal(new ContactIdEvent(121, 1, 4), alarm.Event);
        Assert.Equal(Bell.Profile, alarm.Profile);
        Assert.Equal(Bell.Site, alarm.Site);
        Assert.False(alarm.Test);
        Assert.Equal(_gateway.Time.GetUtcNow(), alarm.ReceivedAt);
        Assert.Equal(frame, Convert.FromHexString(alarm.FrameHex));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_outbox_published_total"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_outbox_depth"));
    }

    [Fact]
    public async Task A_receipt_that_comes_back_while_the_alarm_is_still_being_written_clears_its_row()
    {
        Task? receipt = null;
        _gateway.Mqtt.BeforePublish = message =>
        {
            if (message.Topic == GatewayHarness.EventsTopic)
            {
                // The cloud answers at once, before the gateway's commit is durable.
                receipt = Task.Run(() => _gateway.Commands.HandleAsync(
                    EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:7")), CancellationToken.None));
            }
        };

        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(7), CancellationToken.None)).Outcome);
        Assert.NotNull(receipt);
        await receipt;

        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM outbox"));
        Assert.Equal(1, _gateway.Count("SELECT count(receipted_at) FROM alarms"));
        _gateway.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Unreceipted_alarm_is_resent_with_doubling_delays_up_to_the_cap()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic));

        // Expected waits: 5, 10, 20, 40, then the 60 s cap.
        foreach (int seconds in new[] { 5, 10, 20, 40, 60, 60 })
        {
            _gateway.Time.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
            Assert.Equal(0, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
            _gateway.Time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(1, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
        }

        Assert.Equal(7, _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Count);
        Assert.All(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic), m => Assert.Equal("0000A1B2:1", ((AlarmEnvelope)m.ParseEnvelope()).Key));
    }

    [Fact]
    public async Task Receipt_clears_the_row_and_stops_resending()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(2), CancellationToken.None);
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);

        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:1")), CancellationToken.None);
        _gateway.Mqtt.Clear();
        _gateway.Time.Advance(TimeSpan.FromMinutes(5));
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);

        AlarmEnvelope only = (AlarmEnvelope)Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)).ParseEnvelope();
        Assert.Equal("0000A1B2:2", only.Key);
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM outbox"));
        Assert.Equal(1, _gateway.Count("SELECT count(receipted_at) FROM alarms"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_outbox_receipts_total"));
    }

    [Fact]
    public async Task Receipt_for_an_unknown_alarm_and_malformed_commands_are_counted_and_ignored()
    {
        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:99")), CancellationToken.None);
        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("not-a-key")), CancellationToken.None);
        await _gateway.Commands.HandleAsync(Encoding.UTF8.GetBytes("{\"kind\":\"receipt\""), CancellationToken.None);
        await _gateway.Commands.HandleAsync([0xFF, 0x00, 0x12], CancellationToken.None);

        Assert.Equal(1, _gateway.Metric("anshimi_gateway_commands_rejected_total{reason=\"unknown_alarm\"}"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_commands_rejected_total{reason=\"bad_key\"}"));
        Assert.Equal(2, _gateway.Metric("anshimi_gateway_commands_rejected_total{reason=\"malformed\"}"));
        Assert.Empty(_gateway.Mqtt.Published);
    }

    [Fact]
    public async Task Publishing_stops_at_the_first_refusal_and_resumes_in_order()
    {
        // Refused when stored, so each stays due for the worker.
        _gateway.Mqtt.RefusePublishes = true;
        for (uint counter = 1; counter <= 3; counter++)
        {
            Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(counter), CancellationToken.None)).Outcome);
        }

        Assert.Equal(0, _gateway.Count("SELECT sum(attempts) FROM outbox"));
        Assert.Equal(0, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));

        _gateway.Mqtt.RefusePublishes = false;
        Assert.Equal(3, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(["0000A1B2:1", "0000A1B2:2", "0000A1B2:3"], _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => ((AlarmEnvelope)m.ParseEnvelope()).Key));
    }

    [Fact]
    public async Task Reconnect_makes_every_waiting_row_due_at_once()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(1), CancellationToken.None);
        await _gateway.Outbox.PublishDueAsync(CancellationToken.None);
        _gateway.Mqtt.Clear();

        await _gateway.Store.MakeAllDueAsync(_gateway.Time.GetUtcNow(), CancellationToken.None);

        Assert.Equal(1, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
    }
}
