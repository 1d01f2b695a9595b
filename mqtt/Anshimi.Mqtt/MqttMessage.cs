namespace Anshimi.Mqtt;

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

    /// <summary>Human-readable cause, e.g. "connection refused: not authorised" or "connection lost: ...".</summary>
    public string Reason { get; } = reason;
}

/// <summary>One application message as it arrived from the broker.</summary>
public sealed class MqttMessage(string topic, byte[] payload, MqttQos qos, bool retain)
{
    public string Topic { get; } = topic;

    public byte[] Payload { get; } = payload;

    public MqttQos Qos { get; } = qos;

    public bool Retain { get; } = retain;
}

/// <summary>Handles the messages of one subscription. For QoS 1 the broker gets its PUBACK once this completes.</summary>
public delegate Task MqttSubscriptionHandler(MqttMessage message, CancellationToken cancellationToken);
