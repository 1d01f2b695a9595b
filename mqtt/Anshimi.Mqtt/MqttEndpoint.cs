using System.Globalization;

namespace Anshimi.Mqtt;

/// <summary>One broker address a session may connect to: a host name or IP address and a TCP port.</summary>
public readonly record struct MqttEndpoint
{
    public MqttEndpoint(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "Port must be 1..65535.");
        }

        Host = host;
        Port = port;
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>Reads <c>host:port</c> (an IPv6 address in brackets: <c>[::1]:8883</c>).</summary>
    /// <exception cref="FormatException">It is not <c>host:port</c> with a port of 1..65535.</exception>
    public static MqttEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        int colon = trimmed.LastIndexOf(':');
        string host = colon > 0 ? trimmed[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            host = "";
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace)
            || !int.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new FormatException($"an MQTT endpoint must be host:port with a port of 1..65535, got '{text}'");
        }

        return new MqttEndpoint(host, port);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
