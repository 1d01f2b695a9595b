namespace Anshimi.Mqtt;

/// <summary>Connection settings; bound from configuration section "Mqtt" by the hosts.</summary>
public sealed class MqttClientOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    public string ClientId { get; set; } = "";

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>False keeps a persistent session, so QoS 1 messages queue at the broker while offline.</summary>
    public bool CleanSession { get; set; }

    public int KeepAliveSeconds { get; set; } = 30;

    public MqttLastWill? LastWill { get; set; }

    /// <summary>CA file for TLS; null for plain TCP.</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>How long ConnectAsync keeps trying to reach the broker before it gives up.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>libmosquitto counts reconnect delays in whole seconds, so values round up to at least 1 s.</summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many QoS 1 messages may be in flight at once.</summary>
    public int MaxInflightMessages { get; set; } = 100;
}

public sealed class MqttLastWill
{
    public required string Topic { get; init; }

    public required byte[] Payload { get; init; }

    public MqttQos Qos { get; init; } = MqttQos.AtLeastOnce;

    public bool Retain { get; init; } = true;
}
