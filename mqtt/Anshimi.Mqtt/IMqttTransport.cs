namespace Anshimi.Mqtt;

/// <summary>
/// One broker connection with no policy of its own: it connects once when asked, reports a lost
/// connection and hands every message to <see cref="MessageReceived"/>. <see cref="MqttSession"/>
/// owns reconnects, subscriptions and routing on top of it; tests hand the session a fake.
/// </summary>
public interface IMqttTransport : IAsyncDisposable
{
    bool IsConnected { get; }

    /// <summary>Awaited for each message before it is acknowledged to the broker.</summary>
    Func<MqttMessage, Task>? MessageReceived { get; set; }

    /// <summary>Raised once when an established connection ends without <see cref="DisconnectAsync"/>; the argument says why.</summary>
    event EventHandler<string>? ConnectionLost;

    /// <summary>
    /// Makes one connection attempt to <paramref name="endpoint"/>. Returns whether the broker still held a session for this client.
    /// Throws <see cref="MqttConnectionRefusedException"/>, <see cref="MqttTimeoutException"/> or <see cref="MqttTransportException"/>.
    /// </summary>
    Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken);

    /// <summary>QoS 0 completes once sent, QoS 1 on PUBACK.</summary>
    Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken);

    /// <summary>Completes on SUBACK; throws <see cref="MqttSubscriptionRefusedException"/> when the broker refuses the filter.</summary>
    Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken);

    /// <summary>Sends DISCONNECT, so the broker discards the last will.</summary>
    Task DisconnectAsync(CancellationToken cancellationToken);
}

/// <summary>Creates the transport for a session; hosts take this so tests can hand in a fake.</summary>
public interface IMqttTransportFactory
{
    IMqttTransport Create(MqttClientOptions options);
}
