using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

public sealed class EndpointListTests
{
    [Theory]
    [InlineData("127.0.0.1:8883", "127.0.0.1", 8883)]
    [InlineData(" mqtt.anshimi.example.kr:1883 ", "mqtt.anshimi.example.kr", 1883)]
    [InlineData("[::1]:8883", "::1", 8883)]
    public void An_endpoint_is_read_from_host_and_port(string text, string host, int port)
    {
        MqttEndpoint endpoint = MqttEndpoint.Parse(text);

        Assert.Equal(new MqttEndpoint(host, port), endpoint);
        Assert.Equal(endpoint, MqttEndpoint.Parse(endpoint.ToString()));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData(":8883")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:88a")]
    [InlineData("::1:8883")]
    [InlineData("two words:8883")]
    public void A_session_refuses_an_endpoint_list_entry_that_is_not_host_and_port(string entry)
    {
        var options = new MqttClientOptions { Endpoints = ["127.0.0.1:1883", entry], ClientId = "c" };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new MqttSession(new MqttNetTransport(options), options));

        Assert.Contains("Mqtt:Endpoints", error.Message, StringComparison.Ordinal);
        Assert.Contains(entry, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_list_the_session_uses_host_and_port()
    {
        var options = new MqttClientOptions { Host = "broker.example", Port = 1884, ClientId = "c" };

        Assert.Equal([new MqttEndpoint("broker.example", 1884)], options.EndpointList());
        Assert.Equal("broker.example:1884", new MqttSession(new MqttNetTransport(options), options).Endpoint);
    }

    [Fact]
    public async Task A_node_answering_server_unavailable_is_passed_over_but_a_refusal_of_the_identity_is_not()
    {
        var options = new MqttClientOptions
        {
            Endpoints = ["node1:1883", "node2:1883", "node3:1883"],
            ClientId = "c",
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        var joining = new ScriptedTransport(endpoint => endpoint.Host == "node3" ? null : new MqttConnectionRefusedException(MqttConnectRefusal.ServerUnavailable, "connection refused: broker unavailable"));
        await using (var session = new MqttSession(joining, options))
        {
            await session.ConnectAsync(CancellationToken.None);

            Assert.Equal(["node1:1883", "node2:1883", "node3:1883"], joining.Attempts);
            Assert.Equal("node3:1883", session.Endpoint);
        }

        var refusing = new ScriptedTransport(_ => new MqttConnectionRefusedException(MqttConnectRefusal.NotAuthorized, "connection refused: not authorised"));
        await using (var session = new MqttSession(refusing, options))
        {
            await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => session.ConnectAsync(CancellationToken.None));

            Assert.Equal(["node1:1883"], refusing.Attempts);
        }
    }

    [Fact]
    public async Task A_lost_connection_moves_the_session_to_the_next_node_wrapping_around()
    {
        var options = new MqttClientOptions
        {
            Endpoints = ["node1:1883", "node2:1883"],
            ClientId = "c",
            Reconnect = new ReconnectBackoffOptions { InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(100) },
        };
        var transport = new ScriptedTransport(_ => null);
        await using var session = new MqttSession(transport, options);
        await session.ConnectAsync(CancellationToken.None);
        var states = new EventRecorder<MqttStateChangedEventArgs>();
        session.StateChanged += (_, e) => states.Add(e);

        transport.Lose("node1 went away");
        await states.WaitForAsync(e => e.State == MqttConnectionState.Connected, TestBroker.Wait);
        int mark = states.Items.Count;
        transport.Lose("node2 went away");
        await states.WaitForAsync(e => e.State == MqttConnectionState.Connected, TestBroker.Wait, startIndex: mark);

        Assert.Equal(["node1:1883", "node2:1883", "node1:1883"], transport.Attempts);
        Assert.Equal("node1:1883", session.Endpoint);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Connect_passes_over_an_endpoint_nothing_listens_on_to_the_next_in_the_list()
    {
        await using var broker = await TestBroker.StartAsync();
        MqttClientOptions options = broker.ClientOptions(TestBroker.Device);
        options.Endpoints = [$"127.0.0.1:{FreePort.Next()}", $"{broker.Host}:{broker.Port}"];
        await using var session = MqttSession.Create(options);

        await session.ConnectAsync(CancellationToken.None);

        Assert.Equal(MqttConnectionState.Connected, session.State);
        Assert.Equal($"{broker.Host}:{broker.Port}", session.Endpoint);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_session_whose_broker_dies_moves_to_the_next_broker_in_the_list_and_carries_on()
    {
        await using var first = await TestBroker.StartAsync();
        await using var second = await TestBroker.StartAsync();
        MqttClientOptions options = first.ClientOptions(TestBroker.Device);
        options.Endpoints = [$"{first.Host}:{first.Port}", $"{second.Host}:{second.Port}"];
        await using var session = MqttSession.Create(options);
        var received = new EventRecorder<string>();
        session.AddSubscription("anshimi/test/failover", MqttQos.AtLeastOnce, (message, _) =>
        {
            received.Add(System.Text.Encoding.UTF8.GetString(message.Payload));
            return Task.CompletedTask;
        });
        await session.ConnectAsync(CancellationToken.None);
        Assert.Equal($"{first.Host}:{first.Port}", session.Endpoint);
        var reconnected = new EventRecorder<MqttStateChangedEventArgs>();
        session.StateChanged += (_, e) => reconnected.Add(e);

        await first.KillAsync();

        await reconnected.WaitForAsync(e => e.State == MqttConnectionState.Connected, TestBroker.Wait);
        Assert.Equal($"{second.Host}:{second.Port}", session.Endpoint);
        await session.PublishAsync("anshimi/test/failover", "after the move"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);
        await received.WaitForAsync(text => text == "after the move", TestBroker.Wait);
    }

    /// <summary>A transport whose connect attempts succeed or fail per endpoint as the test says, recording each.</summary>
    private sealed class ScriptedTransport(Func<MqttEndpoint, MqttTransportException?> outcome) : IMqttTransport
    {
        private readonly List<string> _attempts = [];

        public event EventHandler<string>? ConnectionLost;

        public bool IsConnected { get; private set; }

        public Func<MqttMessage, Task>? MessageReceived { get; set; }

        public IReadOnlyList<string> Attempts
        {
            get
            {
                lock (_attempts)
                {
                    return [.. _attempts];
                }
            }
        }

        public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
        {
            lock (_attempts)
            {
                _attempts.Add(endpoint.ToString());
            }

            if (outcome(endpoint) is { } failure)
            {
                throw failure;
            }

            IsConnected = true;
            return Task.FromResult(false);
        }

        public void Lose(string cause)
        {
            IsConnected = false;
            ConnectionLost?.Invoke(this, cause);
        }

        public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            IsConnected = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
