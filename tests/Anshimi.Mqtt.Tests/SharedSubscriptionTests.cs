using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>
/// Two sessions of one identity (two service instances) in one share group on a real Mosquitto, under an ACL that grants
/// only the plain topics: each message reaches exactly one of them, routed to the handler of the shared filter.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SharedSubscriptionTests
{
    [Fact]
    public async Task Each_message_reaches_exactly_one_session_of_the_group_and_both_take_a_share()
    {
        await using var broker = await TestBroker.StartAsync();
        string filter = SharedSubscription.Filter("bridges", "allowed/gw/+/events");
        var a = new EventRecorder<MqttMessage>();
        var b = new EventRecorder<MqttMessage>();
        await using var sessionA = MqttSession.Create(broker.ClientOptions(TestBroker.Restricted, "instance-a"));
        await using var sessionB = MqttSession.Create(broker.ClientOptions(TestBroker.Restricted, "instance-b"));
        await sessionA.ConnectAsync(CancellationToken.None);
        await sessionB.ConnectAsync(CancellationToken.None);
        await sessionA.SubscribeAsync(filter, MqttQos.AtLeastOnce, a.Handler(), CancellationToken.None);
        await sessionB.SubscribeAsync(filter, MqttQos.AtLeastOnce, b.Handler(), CancellationToken.None);

        const int Messages = 20;
        for (byte i = 0; i < Messages; i++)
        {
            await TestBroker.PublishWithCliAsync(broker, $"allowed/gw/gw-{i % 3}/events", [i]);
        }

        using var timeout = new CancellationTokenSource(TestBroker.Wait);
        while (a.Items.Count + b.Items.Count < Messages)
        {
            await Task.Delay(50, timeout.Token);
        }

        // A copy sent to both would arrive right after: give it the time to.
        await Task.Delay(500);
        byte[] received = [.. a.Items.Concat(b.Items).Select(m => m.Payload.ToArray()[0]).Order()];
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => (byte)i), received);
        Assert.NotEmpty(a.Items);
        Assert.NotEmpty(b.Items);
        Assert.Equal(0, sessionA.UnmatchedMessages + sessionB.UnmatchedMessages);
    }

    [Fact]
    public async Task A_shared_subscription_takes_messages_again_after_a_broker_restart_that_kept_the_session()
    {
        await using var broker = await TestBroker.StartAsync(persistence: true);
        var received = new EventRecorder<MqttMessage>();
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        await using var session = MqttSession.Create(broker.ClientOptions(TestBroker.Restricted, "instance-a"));
        session.StateChanged += (_, e) => states.Add(e);
        session.AddSubscription(SharedSubscription.Filter("bridges", "allowed/gw/+/events"), MqttQos.AtLeastOnce, received.Handler());
        await session.ConnectAsync(CancellationToken.None);

        // Stopped, so the broker saves the session; it comes back with "session present" but not the shared subscription.
        await broker.StopAsync();
        int lost = await states.WaitForIndexAsync(s => s.State == MqttConnectionState.Reconnecting, TestBroker.Wait);
        await broker.StartAsync();
        await states.WaitForAsync(s => s.State == MqttConnectionState.Connected, TestBroker.Wait, lost);

        await TestBroker.PublishWithCliAsync(broker, "allowed/gw/gw-1/events", [7]);
        MqttMessage message = await received.WaitForAsync(m => m.Topic == "allowed/gw/gw-1/events", TestBroker.Wait);
        Assert.Equal([7], message.Payload.ToArray());
    }

    [Theory]
    [InlineData("$share/bridges/anshimi/v1/gw/+/events", "anshimi/v1/gw/+/events")]
    [InlineData("anshimi/v1/gw/+/events", "anshimi/v1/gw/+/events")]
    public void The_topics_of_shared_messages_match_the_filter_without_its_share_prefix(string filter, string matched) =>
        Assert.Equal(matched, SharedSubscription.TopicFilterOf(filter));

    [Fact]
    public void A_group_name_with_a_topic_separator_or_wildcard_is_refused() =>
        Assert.Throws<ArgumentException>(() => SharedSubscription.Filter("a/b", "x/#"));
}
