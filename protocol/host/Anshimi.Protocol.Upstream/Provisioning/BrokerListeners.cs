using System.Globalization;

namespace Anshimi.Protocol.Upstream.Provisioning;

/// <summary>Where the box broker listens: its devices' network, and optionally TLS beside the plain port.</summary>
public sealed class SiteBrokerListeners
{
    /// <summary>Plain MQTT for the box's services and its devices.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>The address devices reach the box at; 127.0.0.1 when they run on the box itself (tests, the demo).</summary>
    public string DeviceAddress { get; set; } = "127.0.0.1";

    /// <summary>An interface (e.g. the devices' Wi-Fi, <c>wlan0</c>) to listen on instead of <see cref="DeviceAddress"/>.</summary>
    public string? DeviceInterface { get; set; }

    /// <summary>The TLS port for devices that support TLS; needs <see cref="TlsCertificateFile"/> and <see cref="TlsKeyFile"/>.</summary>
    public int? TlsPort { get; set; }

    /// <summary>PEM server certificate, issued by the box's CA that devices are given.</summary>
    public string? TlsCertificateFile { get; set; }

    public string? TlsKeyFile { get; set; }
}

/// <summary>
/// The client-id rule of every broker a gateway or device speaks to: no client can take over another
/// account's session. On an account listener Mosquitto names the session after the authenticated
/// account (<c>use_username_as_clientid</c>), so whatever client id a login sends, it can only ever
/// reach its own session; clients without an account are refused there. Anonymous clients (factory-fresh
/// devices) have a listener of their own that keeps the client id they send, and every client id sent
/// must start with <see cref="ClientIdPrefix"/> (<c>clientid_prefixes</c>, checked on the id as sent,
/// before the account's name replaces it). No account name contains '/' (device ids are hex, gateway
/// ids and service names are one topic level), so an anonymous session can never bear an account's name.
/// </summary>
public static class BrokerListeners
{
    /// <summary>What every client id a client sends starts with.</summary>
    public const string ClientIdPrefix = "anshimi/";

    /// <summary>The id an account sends; on an account listener the broker replaces it with the account's name.</summary>
    public static string AccountClientId(string name) => ClientIdPrefix + name;

    /// <summary>The id a factory-fresh device keeps on the provisioning listener.</summary>
    public static string UnclaimedClientId(string deviceId) => ClientIdPrefix + "prov/" + deviceId;

    /// <summary>Anonymous connections the provisioning listener takes at once: a box sees a few factory-fresh devices at a time.</summary>
    public const int MaxUnclaimedConnections = 32;

    /// <summary>Factory-fresh devices say hello on the port after the plain one.</summary>
    public static int ProvisioningPort(int port) => port + 1;

    /// <summary>True for a name a broker account may have: one that no anonymous session can bear.</summary>
    public static bool IsAccountName(string name) => !string.IsNullOrEmpty(name) && !name.Contains('/', StringComparison.Ordinal);

    /// <summary>
    /// The box broker's mosquitto.conf lines for listeners and the client-id rule (the dynamic-security
    /// plugin, persistence and logging go beside them): the box's services on loopback, devices on
    /// their address or interface (plain and, when configured, TLS), factory-fresh devices on
    /// <see cref="ProvisioningPort"/> of the devices' address.
    /// </summary>
    public static IReadOnlyList<string> SiteBroker(SiteBrokerListeners listeners)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        if (listeners.TlsPort is not null && (string.IsNullOrEmpty(listeners.TlsCertificateFile) || string.IsNullOrEmpty(listeners.TlsKeyFile)))
        {
            throw new ArgumentException("a TLS port needs the server certificate and key files", nameof(listeners));
        }

        var lines = new List<string>
        {
            "per_listener_settings false",
            // Anonymous clients can only use the provisioning listener: the others refuse a client without an account.
            "allow_anonymous true",
            "clientid_prefixes " + ClientIdPrefix,
        };
        bool devicesOnLoopback = listeners.DeviceInterface is null && listeners.DeviceAddress == "127.0.0.1";
        if (!devicesOnLoopback)
        {
            lines.AddRange(AccountListener(listeners.Port, "127.0.0.1", null));
        }

        lines.AddRange(AccountListener(listeners.Port, listeners.DeviceAddress, listeners.DeviceInterface));
        if (listeners.TlsPort is int tlsPort)
        {
            lines.AddRange(AccountListener(tlsPort, listeners.DeviceAddress, listeners.DeviceInterface));
            lines.Add("certfile " + listeners.TlsCertificateFile);
            lines.Add("keyfile " + listeners.TlsKeyFile);
            lines.Add("tls_version tlsv1.2");
        }

        lines.Add(Listener(ProvisioningPort(listeners.Port), listeners.DeviceAddress, listeners.DeviceInterface));
        if (listeners.DeviceInterface is not null)
        {
            lines.Add("bind_interface " + listeners.DeviceInterface);
        }

        // Anonymous senders cannot be told apart by the gateway, so the broker bounds how many connect at once.
        lines.Add("max_connections " + MaxUnclaimedConnections.ToString(CultureInfo.InvariantCulture));

        return lines;
    }

    /// <summary>
    /// The cloud endpoint's listener for gateway boxes: TLS 1.2+, a client certificate from the cloud's
    /// CA required, the certificate's CN the account name and the session's name, so a gateway can only
    /// ever hold its own session whatever client id it sends. Certificates must be issued with the
    /// gateway id as CN; the cloud's own services keep client ids with a '/' (e.g. <c>anshimi/cloud-bridge</c>),
    /// which no gateway id can equal.
    /// </summary>
    public static IReadOnlyList<string> GatewayCertificateListener(int port, string address, string caFile, string certificateFile, string keyFile, string? crlFile = null)
    {
        var lines = new List<string>
        {
            Listener(port, address, null),
            "cafile " + caFile,
            "certfile " + certificateFile,
            "keyfile " + keyFile,
            "tls_version tlsv1.2",
            "require_certificate true",
            "use_identity_as_username true",
            "use_username_as_clientid true",
        };
        if (crlFile is not null)
        {
            lines.Add("crlfile " + crlFile);
        }

        return lines;
    }

    private static IEnumerable<string> AccountListener(int port, string address, string? bindInterface)
    {
        yield return Listener(port, address, bindInterface);
        if (bindInterface is not null)
        {
            yield return "bind_interface " + bindInterface;
        }

        yield return "use_username_as_clientid true";
    }

    private static string Listener(int port, string address, string? bindInterface) =>
        "listener " + port.ToString(CultureInfo.InvariantCulture) + (bindInterface is null ? " " + address : "");
}
