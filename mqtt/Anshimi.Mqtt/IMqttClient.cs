namespace Anshimi.Mqtt;

/// <summary>
/// A small MQTT 3.1.1 client: the only transport surface the gateway, the cloud bridge and the
/// simulator see. Reconnects by itself after a connection is lost and reports each change of
/// <see cref="State"/> with a reason.
/// </summary>
public interface IMqttClient : IAsyncDisposable
{
    MqttConnectionState State { get; }

    /// <summary>Raised on the client's network thread on every state change.</summary>
    event EventHandler<MqttStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Raised on the client's network thread for each message received. Handlers must be quick:
    /// hand the message to a queue, never block.
    /// </summary>
    event EventHandler<MqttMessageReceivedEventArgs>? MessageReceived;

    /// <summary>Connects and completes on CONNACK; throws <see cref="MqttException"/> when refused.</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Publishes. QoS 0 completes when the message is handed to the socket layer; QoS 1 completes on
    /// the broker's PUBACK. Throws <see cref="MqttException"/> when the client cannot publish.
    /// </summary>
    Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken);

    /// <summary>Subscribes and completes on SUBACK; throws when the broker refuses the filter.</summary>
    Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken);

    /// <summary>Disconnects cleanly (no last will) and stops reconnecting.</summary>
    Task DisconnectAsync(CancellationToken cancellationToken);
}

public enum MqttQos
{
    AtMostOnce = 0,
    AtLeastOnce = 1,
}

public enum MqttConnectionState
{
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
    Closed,
}

public sealed class MqttStateChangedEventArgs(MqttConnectionState state, string reason) : EventArgs
{
    public MqttConnectionState State { get; } = state;

    /// <summary>Human-readable cause, e.g. "connection refused: not authorised" or "connection lost".</summary>
    public string Reason { get; } = reason;
}

public sealed class MqttMessageReceivedEventArgs(string topic, byte[] payload, MqttQos qos, bool retain) : EventArgs
{
    public string Topic { get; } = topic;

    public byte[] Payload { get; } = payload;

    public MqttQos Qos { get; } = qos;

    public bool Retain { get; } = retain;
}

/// <summary>Every libmosquitto failure surfaces as this, with the library's own code and text.</summary>
public sealed class MqttException : Exception
{
    public MqttException(string message, int errorCode)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    public MqttException(string message)
        : base(message)
    {
    }

    public MqttException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MqttException()
    {
    }

    public int ErrorCode { get; }
}
