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
        var options = new MqttClientOptions { Endpoints = ["127.0.0.1:1883", entry], ClientId = "c", Reconnect = new ReconnectBackoffOptions() };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new MqttSession(new MqttNetTransport(options), options));

        Assert.Contains("Mqtt:Endpoints", error.Message, StringComparison.Ordinal);
        Assert.Contains(entry, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_list_the_session_uses_host_and_port()
    {
        var options = new MqttClientOptions { Host = "broker.example", Port = 1884, ClientId = "c", Reconnect = new ReconnectBackoffOptions() };

        Assert.Equal([new MqttEndpoint("broker.example", 1884)], options.EndpointList());
        Assert.Equal("broker.example:1884", new MqttSession(new MqttNetTransport(options), options).Endpoint);
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
}
