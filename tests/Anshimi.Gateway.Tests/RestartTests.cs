using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests;

public sealed class RestartTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    private TestDevice Bell => _gateway.Devices[0];

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task New_instance_on_the_same_store_keeps_replay_floor_downlink_counter_and_outbox()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(5), CancellationToken.None);
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(AlarmWindow.Size + 6), CancellationToken.None);
        await _gateway.Commands.HandleAsync(EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:5")), CancellationToken.None);

        // The restart reseeds from the fleet file too: counters must survive that.
        _gateway = await _gateway.RestartAsync();

        Assert.Equal(UplinkResult.Reject("replayed"), await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(4), CancellationToken.None));
        Assert.Equal(UplinkOutcome.Duplicate, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(AlarmWindow.Size + 6), CancellationToken.None)).Outcome);
        Frame ack = Bell.ReadDownlink(Assert.Single(_gateway.Mqtt.PublishedTo(Bell.DownlinkTopic)).Payload)!;
        Assert.Equal(3u, ack.Counter);

        // Forwarded before the restart: its resend, kept in the store, falls due after the policy's first delay.
        _gateway.Mqtt.Clear();
        Assert.Equal(0, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
        _gateway.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, await _gateway.Outbox.PublishDueAsync(CancellationToken.None));
        var forwarded = (AlarmEnvelope)Assert.Single(_gateway.Mqtt.PublishedTo(GatewayHarness.EventsTopic)).ParseEnvelope();
        Assert.Equal("0000A1B2:" + (AlarmWindow.Size + 6), forwarded.Key);
    }

    [Fact]
    public async Task Unflushed_heartbeats_are_lost_harmlessly_on_a_kill()
    {
        await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Heartbeat(3), CancellationToken.None);

        _gateway = await _gateway.RestartAsync();

        Assert.Null(_gateway.Registry.Snapshot().Single(d => d.Id == Bell.Id).LastSeen);
        Assert.Equal(UplinkOutcome.Accepted, (await _gateway.Pipeline.HandleUplinkAsync(Bell.UplinkTopic, Bell.Alarm(4), CancellationToken.None)).Outcome);
    }
}
