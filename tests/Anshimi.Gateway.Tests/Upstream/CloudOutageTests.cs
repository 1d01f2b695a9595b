using System.Device.Gpio;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Hosting;
using Anshimi.Gateway.Outputs;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Upstream;

/// <summary>
/// A box cut off from the cloud for simulated hours (the virtual clock): it says so locally after the threshold,
/// keeps every alarm, holds unsent troubles to their bound, and sends everything once the link returns.
/// </summary>
[Trait("Category", "Sites")]
public sealed class CloudOutageTests : IAsyncLifetime
{
    private const int Bound = 100;

    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() =>
        _gateway = await GatewayHarness.StartAsync(
            GatewayHarness.CreateDirectory(),
            new FakeMqttClient(),
            GatewayHarness.NewClock(),
            [new TestDevice(0x0000A1B2, 1), new TestDevice(0x0000C3D4, 101, "shop-panic")],
            services => services.Configure<GatewayOptions>(gateway => gateway.MaxPendingTroubles = Bound));

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Ten_hours_cut_off_keep_every_alarm_bound_the_troubles_and_say_cloud_unreachable_until_the_link_returns()
    {
        TestDevice bell = _gateway.Devices[0];
        TestDevice flapping = _gateway.Devices[1];
        TroubleOutbox troubles = _gateway.Get<TroubleOutbox>();
        CloudLinkStatus link = _gateway.Get<CloudLinkStatus>();
        CloudLink cloudLink = _gateway.Get<IEnumerable<IHostedService>>().OfType<CloudLink>().Single();
        using var gpio = new GpioController(new SimulatedGpioDriver());
        using var indicator = new LocalAlarmIndicator(
            gpio, _gateway.Store, _gateway.Get<MqttSession>(), link,
            Options.Create(new LocalOutputOptions { Driver = LocalOutputOptions.SimulatedDriver, SirenLine = 17, StrobeLine = 27, StatusLedLine = 22 }),
            _gateway.Time, NullLogger<LocalAlarmIndicator>.Instance);
        await indicator.StartAsync(CancellationToken.None);
        await cloudLink.StartAsync(CancellationToken.None);
        try
        {
            _gateway.Mqtt.SetState(MqttConnectionState.Reconnecting, "network unreachable");
            _gateway.Time.Advance(TimeSpan.FromSeconds(59));
            Assert.False(link.IsUnreachable);
            Assert.Equal(HealthStatus.Degraded, (await CheckHealthAsync()).Status);

            // Past the threshold the link supervisor raises the box's own 354 trouble.
            await _gateway.Time.AdvanceUntilAsync(TimeSpan.FromSeconds(1), () => Stored354(troubles, ContactIdQualifier.NewEvent), "354 raised after 60 s");
            Assert.True(link.IsUnreachable);
            HealthCheckResult health = await CheckHealthAsync();
            Assert.Equal(HealthStatus.Degraded, health.Status);
            Assert.Contains("unreachable", health.Data["cloud"].ToString(), StringComparison.Ordinal);
            await indicator.RefreshAsync(CancellationToken.None);
            Assert.True(indicator.StatusBlinking);

            // Ten hours: an alarm every ten minutes, a shop bell flapping silent/restored every minute.
            uint counter = 0;
            for (int minute = 1; minute <= 600; minute++)
            {
                _gateway.Time.Advance(TimeSpan.FromMinutes(1));
                troubles.Enqueue(flapping.Id, ContactIdCode.CommunicationTrouble, minute % 2 == 1 ? ContactIdQualifier.NewEvent : ContactIdQualifier.Restore);
                if (minute % 10 == 0)
                {
                    await _gateway.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(++counter), CancellationToken.None);
                }

                await troubles.StoreQueuedAsync(CancellationToken.None);
                Assert.True(_gateway.Count("SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL") <= Bound);
            }

            Assert.Equal(60, _gateway.Count("SELECT count(*) FROM outbox"));
            Assert.Equal(Bound, _gateway.Count("SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL"));
            Assert.Equal(1 + 600 - Bound, _gateway.Metric("anshimi_gateway_troubles_dropped_total{reason=\"superseded\"}"));
            Assert.Equal(1, Pending354(ContactIdQualifier.NewEvent));

            // The link returns: the box is reachable again, restores its 354 and sends everything it kept.
            _gateway.Mqtt.SetState(MqttConnectionState.Connected, "network back");
            await _gateway.Time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(100), () => Stored354(troubles, ContactIdQualifier.Restore), "354 restored after the link returned");
            Assert.False(link.IsUnreachable);
            Assert.Equal(HealthStatus.Healthy, (await CheckHealthAsync()).Status);
            await indicator.RefreshAsync(CancellationToken.None);
            Assert.False(indicator.StatusBlinking);

            while (await _gateway.Outbox.PublishDueAsync(CancellationToken.None) > 0)
            {
            }

            while (await troubles.PublishDueAsync(CancellationToken.None) > 0)
            {
            }

            Envelope[] sent = [.. _gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope())];
            string[] alarms = [.. sent.OfType<AlarmEnvelope>().Select(a => a.Key)];
            Assert.Equal(60, alarms.Length);
            Assert.Equal(Enumerable.Range(1, 60).Select(c => $"0000A1B2:{c}"), alarms);
            TroubleEnvelope[] sentTroubles = [.. sent.OfType<TroubleEnvelope>()];
            Assert.Equal(Bound, sentTroubles.Length);
            Assert.Contains(sentTroubles, t => t.DeviceId == "00000000" && t.Event.Code == ContactIdCode.CommunicationPathFailure && t.Event.Qualifier == ContactIdQualifier.NewEvent);
            Assert.Contains(sentTroubles, t => t.DeviceId == "00000000" && t.Event.Code == ContactIdCode.CommunicationPathFailure && t.Event.Qualifier == ContactIdQualifier.Restore);

            // The flapping bell's last step is kept: it ended restored (minute 600 is even).
            TroubleEnvelope last = sentTroubles.Last(t => t.DeviceId == DeviceIdText.Format(flapping.Id));
            Assert.Equal(ContactIdQualifier.Restore, last.Event.Qualifier);
        }
        finally
        {
            await cloudLink.StopAsync(CancellationToken.None);
            await indicator.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task At_the_bound_with_nothing_superseded_the_oldest_troubles_go_and_are_counted()
    {
        TroubleOutbox troubles = _gateway.Get<TroubleOutbox>();
        for (uint device = 1; device <= Bound + 50; device++)
        {
            troubles.Enqueue(0x00F00000 + device, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
        }

        await troubles.StoreQueuedAsync(CancellationToken.None);

        Assert.Equal(Bound, _gateway.Count("SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL"));
        Assert.Equal(0, _gateway.Count($"SELECT count(*) FROM troubles WHERE device_id <= {0x00F00000 + 50}"));
        Assert.Equal(50, _gateway.Metric("anshimi_gateway_troubles_dropped_total{reason=\"oldest\"}"));
    }

    /// <summary>Stores what the link supervisor queued, as the trouble outbox's loop would, and looks for the 354.</summary>
    private bool Stored354(TroubleOutbox troubles, byte qualifier)
    {
        troubles.StoreQueuedAsync(CancellationToken.None).GetAwaiter().GetResult();
        return Pending354(qualifier) == 1;
    }

    private long Pending354(byte qualifier) =>
        _gateway.Count($"SELECT count(*) FROM troubles WHERE device_id = 0 AND code = {ContactIdCode.CommunicationPathFailure} AND qualifier = {qualifier}");

    private Task<HealthCheckResult> CheckHealthAsync() =>
        ActivatorUtilities.CreateInstance<GatewayHealthCheck>(_gateway.Get<IServiceProvider>()).CheckHealthAsync(new HealthCheckContext());
}
