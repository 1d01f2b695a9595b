namespace Anshimi.Mqtt;

/// <summary>Connection settings; bound from configuration section "Mqtt" by the hosts.</summary>
public sealed class MqttClientOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    /// <summary>
    /// Brokers of one cluster as <c>host:port</c>, tried in this order; when set they replace <see cref="Host"/> and
    /// <see cref="Port"/>. The session moves to the next one when its broker is lost or cannot be reached, so every
    /// entry must hold the same sessions and take the same TLS settings and credentials.
    /// </summary>
    public IList<string> Endpoints { get; set; } = [];

    public string ClientId { get; set; } = "";

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>False keeps a persistent session, so QoS 1 messages queue at the broker while offline.</summary>
    public bool CleanSession { get; set; }

    public int KeepAliveSeconds { get; set; } = 30;

    public MqttLastWill? LastWill { get; set; }

    /// <summary>PEM file of the CA the broker's certificate must chain to (pinned: the system store is not used); null for plain TCP.</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>PEM client certificate for brokers that require one; needs <see cref="TlsClientKeyFile"/>.</summary>
    public string? TlsClientCertificateFile { get; set; }

    public string? TlsClientKeyFile { get; set; }

    /// <summary>How long <see cref="MqttSession.ConnectAsync"/> keeps trying to reach the broker; <see cref="Timeout.InfiniteTimeSpan"/> for ever.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one connect attempt or one acknowledgement (PUBACK, SUBACK) may take.</summary>
    public TimeSpan CommunicationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The brokers to try, in order: <see cref="Endpoints"/>, or <see cref="Host"/>:<see cref="Port"/> alone.</summary>
    /// <exception cref="FormatException">An entry of <see cref="Endpoints"/> is not <c>host:port</c>.</exception>
    public IReadOnlyList<MqttEndpoint> EndpointList() =>
        Endpoints.Count == 0 ? [new MqttEndpoint(Host, Port)] : Endpoints.Select(MqttEndpoint.Parse).ToArray();

    /// <summary>The delay between connect attempts: the one policy of every client unless configuration says otherwise.</summary>
    public ReconnectBackoffOptions Reconnect { get; set; } = new();
}

public sealed class MqttLastWill
{
    public required string Topic { get; init; }

    public required byte[] Payload { get; init; }

    public MqttQos Qos { get; init; } = MqttQos.AtLeastOnce;

    public bool Retain { get; init; } = true;
}
