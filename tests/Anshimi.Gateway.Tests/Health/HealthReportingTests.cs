using Anshimi.Gateway.Health;
using Anshimi.Gateway.Supervision;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;

namespace Anshimi.Gateway.Tests.Health;

public sealed class HealthReportingTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_silent_device_raises_one_trouble_upstream_with_a_gateway_key_until_the_cloud_receipts_it()
    {
        _gateway.Get<ISupervisionSink>().Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        TroubleOutbox outbox = _gateway.Get<TroubleOutbox>();

        Assert.Equal(1, await outbox.PublishDueAsync(CancellationToken.None));
        TroubleEnvelope trouble = Assert.IsType<TroubleEnvelope>(Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)).ParseEnvelope());
        Assert.Equal(GatewayHarness.GatewayId + "/1", trouble.Key);
        Assert.Equal("0000A1B2", trouble.DeviceId);
        Assert.Equal(new ContactIdEvent(350, 1, 0), trouble.Event);
        Assert.Equal(Bell.Site, trouble.Site);
        Assert.Equal(Bell.Profile, trouble.Profile);
        Assert.True(_gateway.Get<DeviceHealthTracker>().IsSilent(Bell.Id));

        // Not receipted: it goes out again after the retry interval, with the same key.
        _gateway.Time.Advance(GatewayHarness.RetryInterval);
        Assert.Equal(1, await outbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(trouble.Key, ((TroubleEnvelope)_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)[1].ParseEnvelope()).Key);

        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope(trouble.Key)), CancellationToken.None);
        _gateway.Time.Advance(GatewayHarness.RetryMaxInterval);
        Assert.Equal(0, await outbox.PublishDueAsync(CancellationToken.None));
        Assert.Equal(0, _gateway.Count("SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL"));
    }

    [Theory]
    [InlineData("gw-test/99")]
    [InlineData("gw-other/1")]
    [InlineData("gw-test/x")]
    [InlineData("gw-test/")]
    public async Task Receipts_for_troubles_we_never_raised_are_counted_and_change_nothing(string key)
    {
        _gateway.Get<ISupervisionSink>().Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        await _gateway.Get<TroubleOutbox>().PublishDueAsync(CancellationToken.None);

        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope(key)), CancellationToken.None);

        Assert.Equal(1, _gateway.Metric("anshimi_gateway_commands_rejected_total{reason=\"unknown_alarm\"}"));
        Assert.Equal(1, _gateway.Count("SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL"));
    }

    [Fact]
    public async Task After_a_restart_a_device_reported_silent_is_restored_once_when_heard_and_not_raised_again()
    {
        _gateway.Get<ISupervisionSink>().Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        await _gateway.Get<TroubleOutbox>().PublishDueAsync(CancellationToken.None);

        _gateway = await _gateway.RestartAsync();
        SupervisionMonitor monitor = _gateway.Get<IEnumerable<IHostedService>>().OfType<SupervisionMonitor>().Single();
        await monitor.StartAsync(CancellationToken.None);
        try
        {
            SupervisionTracker tracker = _gateway.Get<SupervisionTracker>();
            Assert.Equal(1, tracker.SilentCount);
            Assert.Equal(0, tracker.Check());

            await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(5), CancellationToken.None);
            Assert.Equal(0, tracker.SilentCount);
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
        }

        _gateway.Time.Advance(GatewayHarness.RetryInterval);
        await _gateway.Get<TroubleOutbox>().PublishDueAsync(CancellationToken.None);
        TroubleEnvelope[] troubles = [.. _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<TroubleEnvelope>()];

        // The unreceipted trouble from before the restart goes again, then its restore.
        Assert.Equal([(GatewayHarness.GatewayId + "/1", 1), (GatewayHarness.GatewayId + "/2", 3)], troubles.Select(t => (t.Key, t.Event.Qualifier)));
        Assert.False(_gateway.Get<DeviceHealthTracker>().IsSilent(Bell.Id));
    }

    [Fact]
    public async Task Tamper_mains_and_battery_events_and_heartbeat_battery_become_device_health_reported_upstream()
    {
        await Accept(Bell.Alarm(1, ContactIdCode.Tamper, 2));
        await Accept(Bell.Alarm(2, ContactIdCode.AcLoss, 0));
        await Accept(Bell.Sign(Frame.Alarm(Bell.Id, 3, ContactIdCode.AcLoss, ContactIdQualifier.Restore, 0)));
        await Accept(Bell.Alarm(4, ContactIdCode.LowBattery, 0));
        await Accept(Bell.Sign(new Frame(FrameType.Heartbeat, Bell.Id, 5, 0, 0, 0, [0x00, 35])));

        DeviceStatusReporter reporter = _gateway.Get<DeviceStatusReporter>();
        _gateway.Mqtt.Clear();
        await AnnounceAndConfirmBindingsAsync(reporter);
        Assert.Equal(2, await reporter.ReportAsync(CancellationToken.None));

        DeviceStatusEnvelope status = _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<DeviceStatusEnvelope>().Single(s => s.DeviceId == "0000A1B2");
        Assert.Equal(new DeviceHealth(Silent: false, LowBattery: true, Tamper: true, MainsLost: false, LampFault: false, BatteryPercent: 35), status.Health);
        Assert.Equal("11140", status.DistrictCode);
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_devices_health{condition=\"tamper\"}"));
        Assert.Equal(1, _gateway.Metric("anshimi_gateway_devices_health{condition=\"low_battery\"}"));
        Assert.Equal(0, _gateway.Metric("anshimi_gateway_devices_health{condition=\"mains_lost\"}"));

        // Saved: a restarted gateway knows the same health without hearing anything.
        _gateway = await _gateway.RestartAsync();
        Assert.Equal(status.Health, _gateway.Get<DeviceHealthTracker>().Of(Bell.Id));
    }

    [Fact]
    public async Task Only_changed_devices_are_reported_between_resyncs_and_a_reconnect_reports_every_device()
    {
        DeviceStatusReporter reporter = _gateway.Get<DeviceStatusReporter>();
        await AnnounceAndConfirmBindingsAsync(reporter);
        Assert.Equal(2, await reporter.ReportAsync(CancellationToken.None));
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));

        await Accept(Bell.Alarm(1, ContactIdCode.Tamper, 2));
        Assert.Equal(1, await reporter.ReportAsync(CancellationToken.None));

        await _gateway.ReconnectBrokerAsync();
        await AnnounceAndConfirmBindingsAsync(reporter);
        Assert.Equal(2, await reporter.ReportAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_devices_binding_goes_to_the_cloud_before_its_status_and_again_until_the_cloud_confirms_it()
    {
        DeviceStatusReporter reporter = _gateway.Get<DeviceStatusReporter>();
        _gateway.Mqtt.Clear();
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));
        List<DeviceBoundEnvelope> first = Bindings();
        Assert.Equal(["0000A1B2", "0000C3D4"], first.Select(b => b.DeviceId).Order());
        DeviceBoundEnvelope bell = first.Single(b => b.DeviceId == "0000A1B2");
        Assert.Equal(Convert.ToHexString(Bell.Key), bell.FrameKeyHex);
        Assert.Equal(GatewayHarness.GatewayId, bell.GatewayId);

        // Unanswered: not re-sent before the retry interval, then re-sent; statuses wait for the answer.
        _gateway.Mqtt.Clear();
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));
        Assert.Empty(Bindings());
        _gateway.Time.Advance(_gateway.Options.OutboxRetryInterval);
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));
        Assert.Equal(2, Bindings().Count);

        await ConfirmBindingsAsync();
        _gateway.Mqtt.Clear();
        Assert.Equal(2, await reporter.ReportAsync(CancellationToken.None));
        Assert.Empty(Bindings());
    }

    [Fact]
    public async Task A_refused_publish_keeps_the_change_for_the_next_round()
    {
        DeviceStatusReporter reporter = _gateway.Get<DeviceStatusReporter>();
        await AnnounceAndConfirmBindingsAsync(reporter);
        await reporter.ReportAsync(CancellationToken.None);
        await Accept(Bell.Alarm(1, ContactIdCode.Tamper, 2));

        _gateway.Mqtt.RefusePublishes = true;
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));
        _gateway.Mqtt.RefusePublishes = false;

        Assert.Equal(1, await reporter.ReportAsync(CancellationToken.None));
    }

    /// <summary>A round that sends the devices' bindings, and the cloud's receipts for them through the gateway's command handling.</summary>
    private async Task AnnounceAndConfirmBindingsAsync(DeviceStatusReporter reporter)
    {
        Assert.Equal(0, await reporter.ReportAsync(CancellationToken.None));
        await ConfirmBindingsAsync();
    }

    private async Task ConfirmBindingsAsync()
    {
        foreach (DeviceBoundEnvelope bound in Bindings())
        {
            await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new DeviceBoundReceiptEnvelope(bound.DeviceId)), CancellationToken.None);
        }
    }

    private List<DeviceBoundEnvelope> Bindings() =>
        [.. _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<DeviceBoundEnvelope>()];

    private async Task Accept(byte[] frame) =>
        Assert.NotEqual(Pipeline.UplinkOutcome.Rejected, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, frame, CancellationToken.None)).Outcome);
}
