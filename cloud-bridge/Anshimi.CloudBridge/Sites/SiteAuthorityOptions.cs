namespace Anshimi.CloudBridge.Sites;

/// <summary>The cloud's certificate authority for gateway boxes and its MQTT endpoint, bound from "Sites".</summary>
public sealed class SiteAuthorityOptions
{
    public const string SectionName = "Sites";

    /// <summary>
    /// Holds <c>ca.crt</c>, <c>ca.key</c> (0600), <c>crl.pem</c>, the endpoint's and the bridge's own certificates and
    /// <c>issued/</c> and <c>revoked/</c> (every gateway certificate, by gateway id and serial). Relative paths are under
    /// <c>CloudBridge:DataDirectory</c>.
    /// </summary>
    public string CertificateDirectory { get; set; } = "sites";

    /// <summary>Shell command that makes the endpoint's Mosquitto read the new CRL (e.g. <c>systemctl reload mosquitto</c>); empty for none.</summary>
    public string? ReloadCommand { get; set; }

    /// <summary>
    /// The endpoint is a RabbitMQ cluster: the <c>rabbitmqctl</c> command line that reaches one of its nodes (e.g.
    /// <c>rabbitmqctl -n rabbit@mq1</c>). Issuing a certificate then adds its user to the running cluster, and revoking one
    /// deletes the user and closes its connections at once. Empty for Mosquitto.
    /// </summary>
    public string? RabbitMqCtl { get; set; }

    /// <summary>
    /// The endpoint is a RabbitMQ cluster: the definitions file its nodes load at boot (<c>endpoint config --broker rabbitmq
    /// --definitions</c>), rewritten whenever a certificate is issued or revoked so that a node booting later knows exactly
    /// the identities in force. Empty for Mosquitto.
    /// </summary>
    public string? RabbitMqDefinitionsFile { get; set; }

    /// <summary>How long a gateway certificate is valid; revocation ends it earlier.</summary>
    public TimeSpan GatewayCertificateLifetime { get; set; } = TimeSpan.FromDays(825);

    /// <summary>How long a CRL is valid: Mosquitto refuses every client once it has expired, so any change or <c>sites crl</c> signs a fresh one.</summary>
    public TimeSpan CrlLifetime { get; set; } = TimeSpan.FromDays(365);
}
