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

    /// <summary>How long a gateway certificate is valid; revocation ends it earlier.</summary>
    public TimeSpan GatewayCertificateLifetime { get; set; } = TimeSpan.FromDays(825);

    /// <summary>How long a CRL is valid: Mosquitto refuses every client once it has expired, so any change or <c>sites crl</c> signs a fresh one.</summary>
    public TimeSpan CrlLifetime { get; set; } = TimeSpan.FromDays(365);
}
