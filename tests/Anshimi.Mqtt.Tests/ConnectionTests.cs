using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

[Trait("Category", "Integration")]
public sealed class ConnectionTests
{
    private static readonly TimeSpan Wait = TestBroker.Wait;

    [Fact]
    public async Task Connect_with_valid_credentials_reports_Connecting_then_Connected()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);

        await client.ConnectAsync(CancellationToken.None);

        Assert.Equal(MqttConnectionState.Connected, client.State);
        Assert.Equal("connected", client.StateReason);
        Assert.Equal(
            [MqttConnectionState.Connecting, MqttConnectionState.Connected],
            states.Items.Select(s => s.State));
    }

    [Fact]
    public async Task Connect_with_a_wrong_password_is_refused_as_not_authorised()
    {
        await using var broker = await TestBroker.StartAsync();
        var options = broker.ClientOptions(TestBroker.Device);
        options.Password = "not-the-password";
        await using var client = MqttSession.Create(options);

        var error = await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.Equal(MqttConnectRefusal.NotAuthorized, error.Refusal);
        Assert.Contains("not authorised", error.Message, StringComparison.Ordinal);
        Assert.Equal(MqttConnectionState.Disconnected, client.State);
        Assert.Contains("not authorised", client.StateReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_gives_up_after_the_connect_timeout_when_nothing_listens()
    {
        var options = new MqttClientOptions
        {
            Port = FreePort.Next(),
            ClientId = MosquittoBroker.NewClientId(),
            ConnectTimeout = TimeSpan.FromSeconds(1.5),
        };
        await using var client = MqttSession.Create(options);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);

        var error = await Assert.ThrowsAsync<MqttConnectTimeoutException>(() => client.ConnectAsync(CancellationToken.None));

        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", error.Message, StringComparison.Ordinal);
        Assert.Equal(MqttConnectionState.Disconnected, client.State);
    }

    [Fact]
    public async Task Connect_keeps_trying_until_the_broker_comes_up()
    {
        var port = FreePort.Next();
        var options = new MqttClientOptions
        {
            Port = port,
            ClientId = MosquittoBroker.NewClientId(),
            Username = TestBroker.Device,
            Password = TestBroker.DevicePassword,
        };
        await using var client = MqttSession.Create(options);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);

        var connecting = client.ConnectAsync(CancellationToken.None);
        await states.WaitForAsync(s => s.Reason.StartsWith("connect attempt failed", StringComparison.Ordinal), Wait);
        await using var broker = await TestBroker.StartAsync(port: port);
        await connecting.WaitAsync(Wait);

        Assert.Equal(MqttConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Connect_honours_cancellation()
    {
        var options = new MqttClientOptions { Port = FreePort.Next(), ClientId = MosquittoBroker.NewClientId() };
        await using var client = MqttSession.Create(options);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync(cancel.Token));

        Assert.Equal(MqttConnectionState.Disconnected, client.State);
    }

    [Fact]
    public async Task Reconnects_after_a_broker_restart_and_keeps_the_persistent_session()
    {
        await using var broker = await TestBroker.StartAsync(persistence: true);
        await using var subscriber = await Subscriber.ConnectAsync(broker, "alarms/#", CancellationToken.None);

        await broker.StopAsync();
        var (lost, reconnected) = await subscriber.ReconnectAsync(broker, CancellationToken.None);

        Assert.StartsWith("connection lost: ", lost.Reason, StringComparison.Ordinal);
        Assert.Equal("connected", reconnected.Reason);
        // The broker restored the subscription from its persistence file.
        await TestBroker.PublishWithCliAsync(broker, "alarms/after-restart", [1, 2, 3]);
        var message = await subscriber.Messages.WaitForAsync(m => m.Topic == "alarms/after-restart", Wait);
        Assert.Equal([1, 2, 3], message.Payload);
    }

    [Fact]
    public async Task Subscriptions_are_restored_when_the_broker_lost_the_session()
    {
        await using var broker = await TestBroker.StartAsync(persistence: false);
        await using var subscriber = await Subscriber.ConnectAsync(broker, "commands/#", CancellationToken.None);

        await broker.KillAsync();
        await subscriber.ReconnectAsync(broker, CancellationToken.None);

        // Retained, so it arrives whether the restored subscription reaches the broker before or after it.
        await TestBroker.PublishWithCliAsync(broker, "commands/after-restart", [42], retain: true);
        var message = await subscriber.Messages.WaitForAsync(m => m.Topic == "commands/after-restart", Wait);
        Assert.Equal([42], message.Payload);
    }

    [Fact]
    public async Task A_fleet_of_sessions_all_reconnect_within_2_s_of_a_killed_broker_listening_again_and_resubscribe()
    {
        await using var broker = await TestBroker.StartAsync(persistence: false);
        var sessions = new List<MqttSession>();
        var inboxes = new List<EventRecorder<MqttMessage>>();
        var states = new List<EventRecorder<(MqttStateChangedEventArgs Change, DateTimeOffset At)>>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var session = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
                var inbox = new EventRecorder<MqttMessage>();
                var changes = new EventRecorder<(MqttStateChangedEventArgs, DateTimeOffset)>();
                session.StateChanged += (_, e) => changes.Add((e, DateTimeOffset.UtcNow));
                session.AddSubscription($"fleet/{i}/down", MqttQos.AtLeastOnce, inbox.Handler());
                await session.ConnectAsync(CancellationToken.None);
                sessions.Add(session);
                inboxes.Add(inbox);
                states.Add(changes);
            }

            await broker.KillAsync();
            await Eventually(() => sessions.All(s => s.State == MqttConnectionState.Reconnecting));

            // Long enough for every session to reach the capped delay; the old policy slept up to 5 s there.
            await Task.Delay(TimeSpan.FromSeconds(3));
            await broker.StartAsync();
            DateTimeOffset listening = broker.ListeningSince;
            await Eventually(() => sessions.All(s => s.State == MqttConnectionState.Connected));

            foreach (var changes in states)
            {
                var history = changes.Items.ToList();
                int lost = history.FindIndex(c => c.Change.State == MqttConnectionState.Reconnecting);
                Assert.StartsWith("connection lost: ", history[lost].Change.Reason, StringComparison.Ordinal);
                Assert.Contains(history.Skip(lost), c => c.Change.Reason.StartsWith("reconnect attempt failed: ", StringComparison.Ordinal));
                (MqttStateChangedEventArgs back, DateTimeOffset at) = history.Last(c => c.Change.State == MqttConnectionState.Connected);
                Assert.Equal("connected", back.Reason);
                Assert.InRange(at - listening, TimeSpan.Zero, TimeSpan.FromSeconds(2));
            }

            // The broker forgot every session; each filter must have been subscribed again.
            for (int i = 0; i < sessions.Count; i++)
            {
                await TestBroker.PublishWithCliAsync(broker, $"fleet/{i}/down", [(byte)i], retain: true);
            }

            for (int i = 0; i < sessions.Count; i++)
            {
                MqttMessage message = await inboxes[i].WaitForAsync(m => m.Topic == $"fleet/{i}/down", Wait);
                Assert.Equal([(byte)i], message.Payload);
            }
        }
        finally
        {
            foreach (MqttSession session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    [Fact]
    public async Task Last_will_is_published_when_the_connection_dies_without_DISCONNECT_and_the_client_reconnects()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var proxy = TcpProxy.Start(broker.Port);
        await using var observer = await TestBroker.StartObserverAsync(broker, "status/#");
        var options = broker.ClientOptions(TestBroker.Device);
        options.Port = proxy.Port;
        byte[] will = [0x00, 0x4F, 0x46, 0x46];
        options.LastWill = new MqttLastWill { Topic = "status/bell-7", Payload = will, Retain = false };
        await using var client = MqttSession.Create(options);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        await client.ConnectAsync(CancellationToken.None);

        proxy.DropConnections();

        var line = await observer.WaitForMessageAsync("status/bell-7", Wait);
        Assert.Equal($"MSG status/bell-7 {TestBroker.Hex(will)}", line);
        var lost = await states.WaitForIndexAsync(s => s.State == MqttConnectionState.Reconnecting, Wait);
        Assert.StartsWith("connection lost: ", states.Items[lost].Reason, StringComparison.Ordinal);
        await states.WaitForAsync(s => s.State == MqttConnectionState.Connected, Wait, lost);
    }

    [Fact]
    public async Task Dispose_while_connected_disconnects_cleanly_so_no_last_will_is_sent()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var observer = await TestBroker.StartObserverAsync(broker, "status/#");
        var options = broker.ClientOptions(TestBroker.Device);
        options.LastWill = new MqttLastWill { Topic = "status/bell-8", Payload = [0xDE, 0xAD], Retain = false };
        var client = MqttSession.Create(options);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        await client.ConnectAsync(CancellationToken.None);

        await client.DisposeAsync().AsTask().WaitAsync(Wait);
        await client.DisposeAsync();

        Assert.Equal(MqttConnectionState.Closed, client.State);
        await Assert.ThrowsAsync<MqttNotConnectedException>(
            () => client.PublishAsync("status/bell-8", new byte[] { 1 }, MqttQos.AtLeastOnce, false, CancellationToken.None));
        // The broker saw this connection end before the marker's publisher even connected, so a will would precede the marker.
        await TestBroker.PublishWithCliAsync(broker, "status/marker", [1]);
        await observer.WaitForMessageAsync("status/marker", Wait);
        Assert.DoesNotContain(observer.OutputLines, l => l.StartsWith("MSG status/bell-8", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DisconnectAsync_closes_the_client_for_good()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = MqttSession.Create(broker.ClientOptions(TestBroker.Device));
        await client.ConnectAsync(CancellationToken.None);

        await client.DisconnectAsync(CancellationToken.None);

        Assert.Equal(MqttConnectionState.Closed, client.State);
        await Assert.ThrowsAsync<MqttNotConnectedException>(
            () => client.PublishAsync("a", new byte[] { 1 }, MqttQos.AtMostOnce, false, CancellationToken.None));
    }

    /// <summary>A device client, connected and subscribed to one filter, that records its state changes and messages.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly MqttSession _client;
        private readonly EventRecorder<MqttStateChangedEventArgs> _states = new();

        private Subscriber(MqttSession client)
        {
            _client = client;
            _client.StateChanged += (_, e) => _states.Add(e);
        }

        public EventRecorder<MqttMessage> Messages { get; } = new();

        public static async Task<Subscriber> ConnectAsync(MosquittoBroker broker, string topicFilter, CancellationToken cancellationToken)
        {
            var subscriber = new Subscriber(MqttSession.Create(broker.ClientOptions(TestBroker.Device)));
            try
            {
                subscriber._client.AddSubscription(topicFilter, MqttQos.AtLeastOnce, subscriber.Messages.Handler());
                await subscriber._client.ConnectAsync(cancellationToken);
                return subscriber;
            }
            catch
            {
                await subscriber.DisposeAsync();
                throw;
            }
        }

        /// <summary>
        /// After the test took the broker down: waits until the client notices, starts the broker again and waits
        /// for the reconnect. Returns the state change that noticed the loss and the one that reconnected.
        /// </summary>
        public async Task<(MqttStateChangedEventArgs Lost, MqttStateChangedEventArgs Reconnected)> ReconnectAsync(MosquittoBroker broker, CancellationToken cancellationToken)
        {
            var lost = await _states.WaitForIndexAsync(s => s.State == MqttConnectionState.Reconnecting, Wait, cancellationToken: cancellationToken);
            await broker.StartAsync(cancellationToken);
            var reconnected = await _states.WaitForAsync(s => s.State == MqttConnectionState.Connected, Wait, lost, cancellationToken);
            return (_states.Items[lost], reconnected);
        }

        public ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
