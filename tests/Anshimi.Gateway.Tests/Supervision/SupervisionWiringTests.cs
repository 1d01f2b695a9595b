using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;

namespace Anshimi.Gateway.Tests.Supervision;

public sealed class SupervisionWiringTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Accepted_heartbeats_and_alarms_reach_the_tracker_but_replays_do_not()
    {
        SupervisionTracker tracker = _gateway.Get<SupervisionTracker>();

        Assert.Equal(UplinkOutcome.Rejected, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(0), CancellationToken.None)).Outcome);
        Assert.Equal(0, tracker.TrackedCount);

        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(3), CancellationToken.None);
        Assert.Equal(1, tracker.TrackedCount);

        TestDevice shop = _gateway.Devices[1];
        await _gateway.Pipeline.HandleUplinkAsync(shop.UplinkTopic, shop.Alarm(1), CancellationToken.None);
        Assert.Equal(2, tracker.TrackedCount);
    }

    [Fact]
    public async Task Monitor_tracks_the_registry_and_troubles_are_counted_by_state()
    {
        SupervisionMonitor monitor = _gateway.Get<IEnumerable<IHostedService>>().OfType<SupervisionMonitor>().Single();
        await monitor.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(2, _gateway.Get<SupervisionTracker>().TrackedCount);
            Assert.Contains("\nanshimi_gateway_devices_silent{} 0\n", _gateway.ScrapeMetrics(), StringComparison.Ordinal);

            ISupervisionSink sink = _gateway.Get<ISupervisionSink>();
            sink.Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);
            sink.Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.Restore);
            sink.Raise(Bell.Id, Bell.Profile, ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent);

            Assert.Equal(2, _gateway.Metric("anshimi_gateway_supervision_troubles_total{state=\"trouble\"}"));
            Assert.Equal(1, _gateway.Metric("anshimi_gateway_supervision_troubles_total{state=\"restore\"}"));
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
        }
    }
}
