using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>The session routes each message to the handlers whose filter matches it, on a real broker.</summary>
[Trait("Category", "Integration")]
public sealed class RoutingTests
{
    private static readonly TimeSpan Wait = TestBroker.Wait;

    [Fact]
    public async Task Each_message_reaches_only_the_handlers_whose_filter_matches()
    {
        await using var broker = await TestBroker.StartAsync();
        var diagnostics = new EventRecorder<string>();
        await using var session = MqttSession.Create(broker.ClientOptions(TestBroker.Device), diagnostics.Add);
        var uplinks = new EventRecorder<MqttMessage>();
        var everything = new EventRecorder<MqttMessage>();
        session.AddSubscription("routing/d/+/up", MqttQos.AtLeastOnce, uplinks.Handler());
        session.AddSubscription("routing/g/#", MqttQos.AtMostOnce, everything.Handler());
        await session.ConnectAsync(CancellationToken.None);

        await TestBroker.PublishWithCliAsync(broker, "routing/d/0000A1B2/up", [1]);
        await TestBroker.PublishWithCliAsync(broker, "routing/g/gw-1/commands", [2]);
        await TestBroker.PublishWithCliAsync(broker, "routing/d/0000A1B2/up", [3]);

        await uplinks.WaitForIndexAsync(_ => true, Wait, startIndex: 1);
        await everything.WaitForAsync(m => m.Topic == "routing/g/gw-1/commands", Wait);
        Assert.Equal([[1], [3]], uplinks.Items.Select(m => m.Payload));
        Assert.All(uplinks.Items, m => Assert.Equal("routing/d/0000A1B2/up", m.Topic));
        Assert.Equal([[2]], everything.Items.Select(m => m.Payload));
        Assert.Equal(0, session.UnmatchedMessages);
    }

    [Fact]
    public async Task A_message_matching_no_filter_is_counted_and_dropped_and_later_ones_still_arrive()
    {
        await using var broker = await TestBroker.StartAsync();
        MqttClientOptions options = broker.ClientOptions(TestBroker.Device);

        // An earlier life of this client id left a subscription in the broker's persistent session
        // that the current code no longer registers.
        await using (var earlier = MqttSession.Create(options))
        {
            earlier.AddSubscription("routing/old/#", MqttQos.AtLeastOnce, (_, _) => Task.CompletedTask);
            await earlier.ConnectAsync(CancellationToken.None);
            await earlier.DisconnectAsync(CancellationToken.None);
        }

        var diagnostics = new EventRecorder<string>();
        await using var session = MqttSession.Create(options, diagnostics.Add);
        var alarms = new EventRecorder<MqttMessage>();
        session.AddSubscription("routing/alarms/+", MqttQos.AtLeastOnce, alarms.Handler());
        session.AddSubscription("routing/broken/#", MqttQos.AtLeastOnce, (_, _) => throw new InvalidOperationException("handler bug"));
        await session.ConnectAsync(CancellationToken.None);

        await TestBroker.PublishWithCliAsync(broker, "routing/old/x", [9]);
        await TestBroker.PublishWithCliAsync(broker, "routing/broken/y", [8]);
        await TestBroker.PublishWithCliAsync(broker, "routing/alarms/a", [1]);

        // One client's messages arrive in order: once the alarm is in, the two before it were handled.
        MqttMessage alarm = await alarms.WaitForAsync(m => m.Topic == "routing/alarms/a", Wait);
        Assert.Equal([1], alarm.Payload);
        Assert.Equal(1, session.UnmatchedMessages);
        Assert.Equal(1, session.FailedMessages);
        Assert.Contains(diagnostics.Items, line => line.Contains("'routing/old/x' matches no subscription", StringComparison.Ordinal));
        Assert.Contains(diagnostics.Items, line => line.Contains("handler bug", StringComparison.Ordinal));
        Assert.Equal(MqttConnectionState.Connected, session.State);
    }

    [Fact]
    public async Task A_retained_message_on_an_overlapping_wildcard_reaches_both_handlers_once_each()
    {
        await using var broker = await TestBroker.StartAsync();
        await TestBroker.PublishWithCliAsync(broker, "routing/lights/7/mode", [0x45], retain: true);
        await using var session = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        var one = new EventRecorder<MqttMessage>();
        var all = new EventRecorder<MqttMessage>();
        session.AddSubscription("routing/lights/+/mode", MqttQos.AtLeastOnce, one.Handler());
        session.AddSubscription("routing/#", MqttQos.AtLeastOnce, all.Handler());

        await session.ConnectAsync(CancellationToken.None);

        MqttMessage first = await one.WaitForAsync(m => m.Topic == "routing/lights/7/mode", Wait);
        MqttMessage second = await all.WaitForAsync(m => m.Topic == "routing/lights/7/mode", Wait);
        Assert.True(first.Retain);
        Assert.Equal([0x45], second.Payload);
    }
}
