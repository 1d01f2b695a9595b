using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

[Trait("Category", "Integration")]
public sealed class MessagingTests
{
    private static readonly TimeSpan Wait = TestBroker.Wait;

    // Zero bytes, high bytes and a CR/LF: anything a text round trip would mangle.
    private static readonly byte[] BinaryPayload = [0x00, 0x01, 0xFF, 0x00, 0x7F, 0x80, 0x0D, 0x0A, 0x00, 0xFE];

    [Fact]
    public async Task QoS1_publish_completes_and_reaches_an_independent_subscriber_byte_for_byte()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var observer = await TestBroker.StartObserverAsync(broker, "devices/#");
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        await client.ConnectAsync(CancellationToken.None);

        await client.PublishAsync("devices/bell-1/alarm", BinaryPayload, MqttQos.AtLeastOnce, false, CancellationToken.None);

        var line = await observer.WaitForMessageAsync("devices/bell-1/alarm", Wait);
        Assert.Equal($"MSG devices/bell-1/alarm {TestBroker.Hex(BinaryPayload)}", line);
    }

    [Fact]
    public async Task Many_concurrent_QoS1_publishes_all_complete()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        await client.ConnectAsync(CancellationToken.None);

        var publishes = Enumerable.Range(0, 500)
            .Select(i => client.PublishAsync($"devices/load/{i % 7}", BitConverter.GetBytes(i), MqttQos.AtLeastOnce, false, CancellationToken.None));

        await Task.WhenAll(publishes).WaitAsync(Wait);
    }

    [Fact]
    public async Task Message_from_mosquitto_pub_arrives_with_exact_bytes()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        var messages = new EventRecorder<MqttMessage>();
        client.AddSubscription("gateway/+/commands", MqttQos.AtLeastOnce, messages.Handler());
        await client.ConnectAsync(CancellationToken.None);

        await TestBroker.PublishWithCliAsync(broker, "gateway/gw-1/commands", BinaryPayload);

        var message = await messages.WaitForAsync(m => m.Topic == "gateway/gw-1/commands", Wait);
        Assert.Equal(BinaryPayload, message.Payload);
        Assert.Equal(MqttQos.AtLeastOnce, message.Qos);
        Assert.False(message.Retain);
    }

    [Fact]
    public async Task Persistent_session_delivers_messages_published_while_the_client_was_offline()
    {
        await using var broker = await TestBroker.StartAsync();
        var options = broker.ClientOptions(TestBroker.Device);
        await using (var first = MqttSession.Create(options))
        {
            first.AddSubscription("devices/+/ack", MqttQos.AtLeastOnce, (_, _) => Task.CompletedTask);
            await first.ConnectAsync(CancellationToken.None);
            await first.DisconnectAsync(CancellationToken.None);
        }

        for (byte i = 1; i <= 3; i++)
        {
            await TestBroker.PublishWithCliAsync(broker, "devices/bell-3/ack", [0x00, i]);
        }

        await using var second = MqttSession.Create(options);
        var messages = new EventRecorder<MqttMessage>();
        second.AddSubscription("devices/+/ack", MqttQos.AtLeastOnce, messages.Handler());
        await second.ConnectAsync(CancellationToken.None);

        await messages.WaitForIndexAsync(_ => true, Wait, startIndex: 2);
        Assert.Equal([[0x00, 1], [0x00, 2], [0x00, 3]], messages.Items.Select(m => m.Payload));
    }

    [Fact]
    public async Task Publish_to_a_topic_the_ACL_denies_never_reaches_subscribers()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var observer = await TestBroker.StartObserverAsync(broker, "#");
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Restricted));
        await client.ConnectAsync(CancellationToken.None);

        // MQTT 3.1.1 has no way to report the denial: the broker acknowledges and drops the message.
        await client.PublishAsync("forbidden/siren", new byte[] { 1 }, MqttQos.AtLeastOnce, false, CancellationToken.None);
        await client.PublishAsync("allowed/marker", new byte[] { 2 }, MqttQos.AtLeastOnce, false, CancellationToken.None);

        // Messages from one client are delivered in order, so once the marker is in, the denied one is not coming.
        await observer.WaitForMessageAsync("allowed/marker", Wait);
        Assert.DoesNotContain(observer.OutputLines, l => l.StartsWith("MSG forbidden/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Subscribe_to_an_invalid_filter_throws_before_anything_is_sent()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        await client.ConnectAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<ArgumentException>(
            () => client.SubscribeAsync("devices/#/ack", MqttQos.AtLeastOnce, (_, _) => Task.CompletedTask, CancellationToken.None));

        Assert.Contains("devices/#/ack", error.Message, StringComparison.Ordinal);
        Assert.Equal(MqttConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Subscribe_to_a_filter_the_ACL_denies_is_granted_by_Mosquitto_but_delivers_nothing()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Restricted));
        var messages = new EventRecorder<MqttMessage>();
        await client.ConnectAsync(CancellationToken.None);

        // Mosquitto answers an MQTT 3.1.1 SUBSCRIBE its ACL denies with a granted QoS and filters at
        // delivery, so there is no refusal to report; the allowed marker proves the order.
        await client.SubscribeAsync("forbidden/#", MqttQos.AtLeastOnce, messages.Handler(), CancellationToken.None);
        await client.SubscribeAsync("allowed/#", MqttQos.AtLeastOnce, messages.Handler(), CancellationToken.None);
        await TestBroker.PublishWithCliAsync(broker, "forbidden/siren", [1]);
        await TestBroker.PublishWithCliAsync(broker, "allowed/marker", [2]);

        await messages.WaitForAsync(m => m.Topic == "allowed/marker", Wait);
        Assert.DoesNotContain(messages.Items, m => m.Topic == "forbidden/siren");
    }

    [Fact]
    public async Task QoS1_publish_waits_for_PUBACK_honours_cancellation_and_is_still_delivered_later()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var proxy = TcpProxy.Start(broker.Port);
        await using var observer = await TestBroker.StartObserverAsync(broker, "devices/#");
        var options = broker.ClientOptions(TestBroker.Device);
        options.Port = proxy.Port;
        await using var client = MqttSession.Create(options);
        await client.ConnectAsync(CancellationToken.None);

        proxy.Pause();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.PublishAsync("devices/bell-4/alarm", new byte[] { 0x00, 0x78 }, MqttQos.AtLeastOnce, false, cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.PublishAsync("devices/bell-4/alarm", new byte[] { 1 }, MqttQos.AtLeastOnce, false, new CancellationToken(canceled: true)));
        proxy.Resume();

        // Cancelling stopped the wait, not the delivery.
        Assert.Equal("MSG devices/bell-4/alarm 0078", await observer.WaitForMessageAsync("devices/bell-4/alarm", Wait));
    }

    [Fact]
    public async Task QoS1_publish_without_a_PUBACK_in_time_throws_a_timeout()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var proxy = TcpProxy.Start(broker.Port);
        var options = broker.ClientOptions(TestBroker.Device);
        options.Port = proxy.Port;
        options.CommunicationTimeout = TimeSpan.FromMilliseconds(500);
        await using var client = MqttSession.Create(options);
        await client.ConnectAsync(CancellationToken.None);

        proxy.Pause();
        try
        {
            await Assert.ThrowsAsync<MqttTimeoutException>(
                () => client.PublishAsync("devices/bell-9/alarm", new byte[] { 9 }, MqttQos.AtLeastOnce, false, CancellationToken.None));
        }
        finally
        {
            proxy.Resume();
        }
    }

    [Fact]
    public async Task Started_publishes_are_in_flight_together_and_reach_a_subscriber_in_the_order_they_were_started()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var proxy = TcpProxy.Start(broker.Port);
        var options = broker.ClientOptions(TestBroker.Device);
        options.Port = proxy.Port;
        await using var client = MqttSession.Create(options);
        await client.ConnectAsync(CancellationToken.None);
        await using var subscriber = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        var received = new EventRecorder<MqttMessage>();
        subscriber.AddSubscription("devices/ordered/#", MqttQos.AtLeastOnce, received.Handler());
        await subscriber.ConnectAsync(CancellationToken.None);

        // Nothing gets through, so no PUBACK can come back: every call must still return at once.
        proxy.Pause();
        Task<MqttTransportException?>[] answered = [.. Enumerable.Range(0, 50).Select(i =>
            client.StartPublish("devices/ordered/" + (i % 3), BitConverter.GetBytes(i), MqttQos.AtLeastOnce, false, CancellationToken.None))];
        Assert.All(answered, a => Assert.False(a.IsCompleted));
        Assert.Equal(50, client.PublishesInFlight);

        proxy.Resume();
        MqttTransportException?[] failures = await Task.WhenAll(answered).WaitAsync(Wait);
        Assert.All(failures, Assert.Null);
        await received.WaitForAsync(m => BitConverter.ToInt32(m.Payload) == 49, Wait);
        Assert.Equal(Enumerable.Range(0, 50), received.Items.Select(m => BitConverter.ToInt32(m.Payload)));
        Assert.Equal(0, client.PublishesInFlight);
    }

    [Fact]
    public async Task A_started_publish_whose_connection_drops_before_its_PUBACK_gives_the_failure_instead_of_throwing()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var proxy = TcpProxy.Start(broker.Port);
        var options = broker.ClientOptions(TestBroker.Device);
        options.Port = proxy.Port;
        await using var client = MqttSession.Create(options);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        await client.ConnectAsync(CancellationToken.None);

        proxy.Pause();
        Task<MqttTransportException?> answered = client.StartPublish("devices/bell-7/alarm", new byte[] { 7 }, MqttQos.AtLeastOnce, false, CancellationToken.None);
        Assert.False(answered.IsCompleted);
        proxy.DropConnections();

        Assert.IsAssignableFrom<MqttTransportException>(await answered.WaitAsync(Wait));
        Assert.Equal(0, client.PublishesInFlight);

        // Not connected again (the proxy still holds every byte): the failure comes back the same way, never as a throw.
        await states.WaitForAsync(e => e.State == MqttConnectionState.Reconnecting, Wait);
        Assert.IsType<MqttNotConnectedException>(
            await client.StartPublish("devices/bell-7/alarm", new byte[] { 8 }, MqttQos.AtLeastOnce, false, CancellationToken.None).WaitAsync(Wait));
    }

    [Fact]
    public async Task Publish_while_reconnecting_throws_instead_of_queueing()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        await client.ConnectAsync(CancellationToken.None);
        await broker.StopAsync();
        await states.WaitForAsync(s => s.State == MqttConnectionState.Reconnecting, Wait);

        var error = await Assert.ThrowsAsync<MqttNotConnectedException>(
            () => client.PublishAsync("devices/bell-6/alarm", new byte[] { 1 }, MqttQos.AtLeastOnce, false, CancellationToken.None));

        // The reason is the session's latest: the lost connection, or a reconnect attempt that failed since.
        Assert.Matches(@"^not connected \((connection lost|reconnect attempt failed)", error.Message);
    }

    [Fact]
    public async Task QoS0_publish_without_a_connection_throws()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));

        var error = await Assert.ThrowsAsync<MqttNotConnectedException>(
            () => client.PublishAsync("devices/bell-5/beacon", new byte[] { 1 }, MqttQos.AtMostOnce, false, CancellationToken.None));

        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);
    }
}
