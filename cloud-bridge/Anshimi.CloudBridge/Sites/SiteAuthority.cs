using System.Diagnostics;
using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.CloudBridge.Sites;

/// <summary>
/// The cloud's certificate authority for its MQTT endpoint: one CA (ECDSA P-256) that signs the endpoint's server
/// certificate, the bridge's own client certificate and one client certificate per gateway box (subject CN = the
/// gateway id, which the endpoint takes as the user name its ACL confines to <c>anshimi/v1/gw/{id}/…</c>), and the
/// CRL the endpoint checks. Several bridge instances each get their own identity (<see cref="IssueBridge"/>), so no two
/// share a session. Built on .NET's <see cref="CertificateRequest"/> and <see cref="CertificateRevocationListBuilder"/>.
/// </summary>
public sealed partial class SiteAuthority(string directory, SiteAuthorityOptions options, TimeProvider time)
{
    /// <summary>The bridge's own identity on the endpoint; no gateway may be given it.</summary>
    public const string BridgeIdentity = "anshimi-cloud-bridge";

    /// <summary>The ACL template's block of the bridge's rights starts with this line; every bridge identity gets a copy.</summary>
    private const string BridgeAclUserLine = "user " + BridgeIdentity;

    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);

    public string Directory { get; } = directory;

    public string CaCertificateFile => Path.Combine(Directory, "ca.crt");

    public string CrlFile => Path.Combine(Directory, "crl.pem");

    public string EndpointCertificateFile => Path.Combine(Directory, "endpoint.crt");

    public string EndpointKeyFile => Path.Combine(Directory, "endpoint.key");

    public string BridgeCertificateFile => Path.Combine(Directory, BridgeIdentity + ".crt");

    public string BridgeKeyFile => Path.Combine(Directory, BridgeIdentity + ".key");

    private string CaKeyFile => Path.Combine(Directory, "ca.key");

    private string IssuedDirectory => Path.Combine(Directory, "issued");

    private string RevokedDirectory => Path.Combine(Directory, "revoked");

    /// <summary>
    /// Creates the CA (kept if present), an empty CRL, the endpoint's server certificate for <paramref name="hosts"/>
    /// (DNS names or IP addresses) and the bridge's client certificate. Run again to re-issue the endpoint's certificate.
    /// </summary>
    public void Initialize(IReadOnlyList<string> hosts)
    {
        if (hosts.Count == 0)
        {
            throw new ArgumentException("at least one endpoint host name or address is needed", nameof(hosts));
        }

        System.IO.Directory.CreateDirectory(IssuedDirectory);
        if (!File.Exists(CaCertificateFile))
        {
            using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=Anshimi cloud CA, O=Anshimi", caKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            DateTimeOffset now = time.GetUtcNow();
            using X509Certificate2 ca = request.CreateSelfSigned(now.AddMinutes(-5), now + CaLifetime);
            WriteSecret(CaKeyFile, caKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(CaCertificateFile, ca.ExportCertificatePem());
        }

        if (!File.Exists(CrlFile))
        {
            WriteCrl([]);
        }

        var names = new SubjectAlternativeNameBuilder();
        foreach (string host in hosts)
        {
            if (IPAddress.TryParse(host, out IPAddress? address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        Issue("CN=" + hosts[0], KeyPurpose.ServerAuthentication, names.Build(), EndpointCertificateFile, EndpointKeyFile);
        Issue("CN=" + BridgeIdentity, KeyPurpose.ClientAuthentication, null, BridgeCertificateFile, BridgeKeyFile);
    }

    /// <summary>
    /// The endpoint's mosquitto.conf: the gateway certificate listener (<see cref="BrokerListeners.GatewayCertificateListener"/>,
    /// the one definition of its TLS and client-id rule) on this CA, server certificate and CRL; the ACL that confines each
    /// identity to its own topics (<paramref name="aclFile"/>, from <c>cloud-bridge/endpoint/endpoint.acl.template</c>);
    /// persistence and logging.
    /// </summary>
    public IReadOnlyList<string> EndpointConfiguration(int port, string bindAddress, string aclFile, string dataDirectory, string logFile, string user)
    {
        List<string> lines =
        [
            "# The cloud's MQTT endpoint (written by the cloud bridge: endpoint config). Gateway boxes and the bridge connect",
            "# over TLS with a certificate from the site CA; the certificate's CN is the user name the ACL confines and the",
            "# session's name, so no client can take over another's session. A revoked certificate is refused (CRL, reread on SIGHUP).",
            "per_listener_settings false",
            "set_tcp_nodelay true",
            "allow_anonymous false",
            .. BrokerListeners.GatewayCertificateListener(port, bindAddress, CaCertificateFile, EndpointCertificateFile, EndpointKeyFile, CrlFile),
            "acl_file " + aclFile,
            "persistence true",
            "persistence_location " + dataDirectory.TrimEnd('/') + "/",
            "autosave_interval 1",
            "log_dest file " + logFile,
            "log_type error",
            "log_type warning",
            "log_type notice",
            "user " + user,
        ];
        return lines;
    }

    /// <summary>
    /// Issues a new gateway's credentials into <paramref name="outDirectory"/>: <c>gateway.key</c> (0600),
    /// <c>gateway.crt</c> and the CA to pin, <c>ca.crt</c>. Returns the certificate's serial number (hex).
    /// </summary>
    /// <exception cref="ArgumentException">The id is not a gateway id, or is reserved.</exception>
    public string IssueGateway(string gatewayId, string outDirectory)
    {
        ValidateGatewayId(gatewayId);
        System.IO.Directory.CreateDirectory(outDirectory);
        string certificateFile = Path.Combine(outDirectory, "gateway.crt");
        string serial = Issue("CN=" + gatewayId, KeyPurpose.ClientAuthentication, null, certificateFile, Path.Combine(outDirectory, "gateway.key"));
        File.Copy(CaCertificateFile, Path.Combine(outDirectory, "ca.crt"), overwrite: true);
        File.Copy(certificateFile, Path.Combine(IssuedDirectory, $"{gatewayId}.{serial}.crt"), overwrite: true);
        return serial;
    }

    /// <summary>
    /// Revokes every certificate issued to <paramref name="gatewayId"/> and not yet revoked: their entries join the
    /// CRL, signed anew (run <see cref="ReloadEndpointAsync"/> next). Returns the serials revoked, empty when none was left.
    /// </summary>
    public IReadOnlyList<string> RevokeGateway(string gatewayId)
    {
        ValidateGatewayId(gatewayId);
        return Revoke(gatewayId);
    }

    /// <summary>The identity (certificate CN) of bridge instance <paramref name="instanceId"/>: <c>anshimi-cloud-bridge-{id}</c>.</summary>
    public static string BridgeInstanceIdentity(string instanceId) => BridgeIdentity + "-" + instanceId;

    /// <summary>
    /// The MQTT client id a bridge identity sends, <c>anshimi/cloud-bridge[-{instance}]</c>: it names its session where the
    /// broker takes the client's id (RabbitMQ) and its outbox leases; the '/' keeps it out of every gateway's reach.
    /// </summary>
    public static string BridgeClientId(string bridgeIdentity) => "anshimi/" + bridgeIdentity["anshimi-".Length..];

    /// <summary>The instance a certificate's CN names (<c>anshimi-cloud-bridge-{id}</c>), or null for any other CN.</summary>
    public static string? InstanceOf(string commonName) =>
        commonName.StartsWith(BridgeIdentity + "-", StringComparison.Ordinal) ? commonName[(BridgeIdentity.Length + 1)..] : null;

    /// <summary>The subject CN of the PEM certificate in <paramref name="certificateFile"/>, or null when it cannot be read.</summary>
    public static string? CommonNameOf(string certificateFile)
    {
        try
        {
            using X509Certificate2 certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
            return certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Issues bridge instance <paramref name="instanceId"/> its own identity into <paramref name="outDirectory"/>:
    /// <c>bridge.key</c> (0600), <c>bridge.crt</c> (CN <see cref="BridgeInstanceIdentity"/>) and <c>ca.crt</c>. Returns the serial (hex).
    /// </summary>
    /// <exception cref="ArgumentException">The id is not an instance id.</exception>
    public string IssueBridge(string instanceId, string outDirectory)
    {
        ValidateInstanceId(instanceId);
        string identity = BridgeInstanceIdentity(instanceId);
        System.IO.Directory.CreateDirectory(outDirectory);
        System.IO.Directory.CreateDirectory(IssuedDirectory);
        string certificateFile = Path.Combine(outDirectory, "bridge.crt");
        string serial = Issue("CN=" + identity, KeyPurpose.ClientAuthentication, null, certificateFile, Path.Combine(outDirectory, "bridge.key"));
        File.Copy(CaCertificateFile, Path.Combine(outDirectory, "ca.crt"), overwrite: true);
        File.Copy(certificateFile, Path.Combine(IssuedDirectory, $"{identity}.{serial}.crt"), overwrite: true);
        return serial;
    }

    /// <summary>Revokes every certificate of bridge instance <paramref name="instanceId"/>, as <see cref="RevokeGateway"/> does for a gateway.</summary>
    public IReadOnlyList<string> RevokeBridge(string instanceId)
    {
        ValidateInstanceId(instanceId);
        return Revoke(BridgeInstanceIdentity(instanceId));
    }

    /// <summary>The bridge identities the endpoint must know: the bridge's own and every instance's with an unrevoked certificate.</summary>
    public IReadOnlyList<string> BridgeIdentities() => [BridgeIdentity, .. IssuedIdentities().Where(cn => InstanceOf(cn) is not null)];

    /// <summary>Every gateway id with an unrevoked certificate.</summary>
    public IReadOnlyList<string> GatewayIdentities() => [.. IssuedIdentities().Where(cn => !cn.StartsWith("anshimi-", StringComparison.Ordinal))];

    /// <summary>
    /// The endpoint's Mosquitto ACL from <paramref name="template"/> (<c>cloud-bridge/endpoint/endpoint.acl.template</c>): as it
    /// is, plus a copy of its <c>user anshimi-cloud-bridge</c> block for every bridge instance identity.
    /// </summary>
    public IReadOnlyList<string> EndpointAcl(IReadOnlyList<string> template)
    {
        int start = template.ToList().IndexOf(BridgeAclUserLine);
        if (start < 0)
        {
            throw new InvalidOperationException($"the ACL template has no '{BridgeAclUserLine}' block to give the bridge instances");
        }

        string[] rights = [.. template.Skip(start + 1).TakeWhile(line => line.StartsWith("topic ", StringComparison.Ordinal))];
        List<string> lines = [.. template];
        foreach (string identity in BridgeIdentities().Skip(1))
        {
            lines.AddRange(["", "# Bridge instance " + InstanceOf(identity) + ": the bridge's rights.", "user " + identity, .. rights]);
        }

        return lines;
    }

    /// <summary>A bridge instance id is 1–40 of a–z, 0–9 and '-' (one topic level and a CN of at most 61 characters).</summary>
    public static void ValidateInstanceId(string instanceId)
    {
        if (!InstanceIdPattern().IsMatch(instanceId))
        {
            throw new ArgumentException($"bridge instance id must be 1–40 of a–z, 0–9 and '-', starting with a letter or digit, got '{instanceId}'", nameof(instanceId));
        }
    }

    /// <summary>Signs the CRL anew with the same entries (before it expires); run <see cref="ReloadEndpointAsync"/> next.</summary>
    public void RenewCrl() => WriteCrl([]);

    /// <summary>Runs <see cref="SiteAuthorityOptions.ReloadCommand"/>; returns its exit status, 0 when there is none.</summary>
    public async Task<int> ReloadEndpointAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.ReloadCommand))
        {
            return 0;
        }

        using Process process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", options.ReloadCommand } })
            ?? throw new InvalidOperationException("/bin/sh could not be started");
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

    /// <summary>A gateway id is one lower-case MQTT topic level that the endpoint's ACL can name; the bridge's identity is reserved.</summary>
    public static void ValidateGatewayId(string gatewayId)
    {
        if (!GatewayIdPattern().IsMatch(gatewayId) || gatewayId.StartsWith("anshimi-", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"gateway id must be 1–64 of a–z, 0–9 and '-', start with a letter or digit and not with 'anshimi-', got '{gatewayId}'",
                nameof(gatewayId));
        }
    }

    private IReadOnlyList<string> Revoke(string identity)
    {
        string[] issued = System.IO.Directory.Exists(IssuedDirectory) ? System.IO.Directory.GetFiles(IssuedDirectory, identity + ".*.crt") : [];
        if (issued.Length == 0)
        {
            return [];
        }

        string[] serials = [.. issued.Select(file => Path.GetFileName(file)[(identity.Length + 1)..^".crt".Length])];
        WriteCrl(serials);
        System.IO.Directory.CreateDirectory(RevokedDirectory);
        foreach (string file in issued)
        {
            File.Move(file, Path.Combine(RevokedDirectory, Path.GetFileName(file)), overwrite: true);
        }

        return serials;
    }

    /// <summary>The CNs with an unrevoked certificate in <c>issued/</c> (<c>{cn}.{serial}.crt</c>; no CN holds a '.').</summary>
    private IEnumerable<string> IssuedIdentities() =>
        System.IO.Directory.Exists(IssuedDirectory)
            ? System.IO.Directory.GetFiles(IssuedDirectory, "*.crt").Select(file => Path.GetFileName(file).Split('.')[0]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            : [];

    /// <summary>The current CRL's entries plus <paramref name="serials"/>, under the next CRL number.</summary>
    private void WriteCrl(IReadOnlyCollection<string> serials)
    {
        using X509Certificate2 ca = LoadCa();
        BigInteger number = BigInteger.Zero;
        CertificateRevocationListBuilder builder = File.Exists(CrlFile)
            ? CertificateRevocationListBuilder.LoadPem(File.ReadAllText(CrlFile), out number)
            : new CertificateRevocationListBuilder();
        DateTimeOffset now = time.GetUtcNow();
        foreach (string serial in serials)
        {
            builder.AddEntry(Convert.FromHexString(serial), now, X509RevocationReason.CessationOfOperation);
        }

        byte[] crl = builder.Build(ca, number + 1, now + options.CrlLifetime, HashAlgorithmName.SHA256, thisUpdate: now.AddMinutes(-5));
        string temporary = CrlFile + ".new";
        File.WriteAllText(temporary, PemEncoding.WriteString("X509 CRL", crl));
        File.Move(temporary, CrlFile, overwrite: true);
    }

    private string Issue(string subject, KeyPurpose usage, X509Extension? names, string certificateFile, string keyFile)
    {
        using X509Certificate2 ca = LoadCa();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage == KeyPurpose.ServerAuthentication ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01;
        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset notAfter = now + options.GatewayCertificateLifetime;
        using X509Certificate2 certificate = request.Create(ca, now.AddMinutes(-5), notAfter < ca.NotAfter ? notAfter : ca.NotAfter, serial);
        WriteSecret(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        return Convert.ToHexString(serial);
    }

    private X509Certificate2 LoadCa()
    {
        if (!File.Exists(CaCertificateFile) || !File.Exists(CaKeyFile))
        {
            throw new InvalidOperationException($"no site CA in {Directory}: run 'sites init' first");
        }

        return X509Certificate2.CreateFromPemFile(CaCertificateFile, CaKeyFile);
    }

    private static void WriteSecret(string path, string pem)
    {
        string temporary = path + ".new";
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, fileOptions))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
        }

        File.Move(temporary, path, overwrite: true);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex GatewayIdPattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$")]
    private static partial Regex InstanceIdPattern();

    private enum KeyPurpose
    {
        ServerAuthentication,
        ClientAuthentication,
    }
}
