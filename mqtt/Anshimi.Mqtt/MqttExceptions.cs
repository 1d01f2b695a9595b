namespace Anshimi.Mqtt;

/// <summary>The broker could not be reached or did not do what was asked; the base of every MQTT failure.</summary>
public class MqttTransportException : Exception
{
    public MqttTransportException()
    {
    }

    public MqttTransportException(string message)
        : base(message)
    {
    }

    public MqttTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The broker did not answer in time.</summary>
public class MqttTimeoutException : MqttTransportException
{
    public MqttTimeoutException()
    {
    }

    public MqttTimeoutException(string message)
        : base(message)
    {
    }

    public MqttTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No connection was made within the connect timeout; the message names the last attempt's failure.</summary>
public sealed class MqttConnectTimeoutException : MqttTimeoutException
{
    public MqttConnectTimeoutException()
    {
    }

    public MqttConnectTimeoutException(string message)
        : base(message)
    {
    }

    public MqttConnectTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Why a broker refused a connection (the CONNACK return code, MQTT 3.1.1 §3.2.2.3).</summary>
public enum MqttConnectRefusal
{
    UnacceptableProtocolVersion,
    IdentifierRejected,
    ServerUnavailable,
    BadUserNameOrPassword,
    NotAuthorized,
    Other,
}

/// <summary>The broker answered the CONNECT with a refusal; <see cref="Refusal"/> says why.</summary>
public sealed class MqttConnectionRefusedException : MqttTransportException
{
    public MqttConnectionRefusedException()
    {
    }

    public MqttConnectionRefusedException(string message)
        : base(message)
    {
    }

    public MqttConnectionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MqttConnectionRefusedException(MqttConnectRefusal refusal, string message, Exception? innerException = null)
        : base(message, innerException!)
    {
        Refusal = refusal;
    }

    public MqttConnectRefusal Refusal { get; } = MqttConnectRefusal.Other;
}

/// <summary>The session is not connected (or was closed), so nothing was sent.</summary>
public sealed class MqttNotConnectedException : MqttTransportException
{
    public MqttNotConnectedException()
    {
    }

    public MqttNotConnectedException(string message)
        : base(message)
    {
    }

    public MqttNotConnectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The broker's SUBACK refused the filter (MQTT 3.1.1 return code 0x80), e.g. because the ACL denies it.</summary>
public sealed class MqttSubscriptionRefusedException : MqttTransportException
{
    public MqttSubscriptionRefusedException()
    {
    }

    public MqttSubscriptionRefusedException(string message)
        : base(message)
    {
    }

    public MqttSubscriptionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MqttSubscriptionRefusedException(string topicFilter, string message)
        : base(message)
    {
        TopicFilter = topicFilter;
    }

    public string TopicFilter { get; } = "";
}

/// <summary>The broker refused a publish (an MQTT 5 PUBACK reason, or a topic the client may not use).</summary>
public sealed class MqttPublishRefusedException : MqttTransportException
{
    public MqttPublishRefusedException()
    {
    }

    public MqttPublishRefusedException(string message)
        : base(message)
    {
    }

    public MqttPublishRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
