using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// The box's link to the cloud's MQTT endpoint, bound from "Cloud". Without <see cref="Url"/> the gateway reaches
/// the cloud bridge through its own broker (one box, the cloud bridge on the same broker).
/// </summary>
public sealed class CloudLinkOptions : IValidatableObject
{
    public const string SectionName = "Cloud";

    public const int DefaultPort = 8883;

    /// <summary>
    /// <c>mqtts://host[:port]</c> of the cloud endpoint, or of each node of a clustered one separated by commas (tried
    /// in that order, the link moving on when its node is lost); empty for one box sharing its broker with the cloud bridge.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>PEM of the cloud's CA: the only authority the endpoint's certificate may chain to (pinned).</summary>
    public string? CaFile { get; set; }

    /// <summary>PEM of this box's client certificate, issued by the cloud when the box was installed.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM of this box's private key (PKCS#8), readable only by the service.</summary>
    public string? KeyFile { get; set; }

    /// <summary>How long the link may be down before the box says "cloud unreachable" (LED, /healthz, a 354 trouble).</summary>
    public TimeSpan UnreachableAfter { get; set; } = TimeSpan.FromSeconds(60);

    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>True when the box has a cloud endpoint of its own to reach, apart from its broker.</summary>
    public bool IsSeparate => !string.IsNullOrWhiteSpace(Url);

    /// <summary>Each endpoint's host and port from <see cref="Url"/>, in order.</summary>
    /// <exception cref="FormatException">An entry is not <c>mqtts://host[:port]</c>.</exception>
    public IReadOnlyList<MqttEndpoint> Endpoints()
    {
        string[] entries = (Url ?? "").Split(',', StringSplitOptions.TrimEntries);
        var endpoints = new List<MqttEndpoint>(entries.Length);
        foreach (string entry in entries)
        {
            if (!Uri.TryCreate(entry, UriKind.Absolute, out Uri? uri) || uri.Scheme != "mqtts" || uri.Host.Length == 0
                || uri.AbsolutePath is not ("" or "/") || uri.UserInfo.Length > 0)
            {
                throw new FormatException($"Cloud:Url must be mqtts://host[:port] (TLS only), or several separated by commas, got '{entry}'");
            }

            endpoints.Add(new MqttEndpoint(uri.IdnHost, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port));
        }

        return endpoints;
    }

    /// <summary>Problems that keep the link from starting, each naming its field; none when it can start.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        Problems().Select(problem => new ValidationResult(problem));

    private IEnumerable<string> Problems()
    {
        if (UnreachableAfter <= TimeSpan.Zero)
        {
            yield return $"{SectionName}:UnreachableAfter must be positive, got {UnreachableAfter}";
        }

        if (!IsSeparate)
        {
            yield break;
        }

        string? endpointProblem = null;
        try
        {
            Endpoints();
        }
        catch (FormatException ex)
        {
            endpointProblem = ex.Message;
        }

        if (endpointProblem is not null)
        {
            yield return endpointProblem;
        }

        bool filesThere = true;
        foreach ((string name, string? file) in new[] { (nameof(CaFile), CaFile), (nameof(CertificateFile), CertificateFile), (nameof(KeyFile), KeyFile) })
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                filesThere = false;
                yield return $"{SectionName}:{name} is required with {SectionName}:Url";
            }
            else if (!File.Exists(file))
            {
                filesThere = false;
                yield return $"{SectionName}:{name} names a file that does not exist: {file}";
            }
        }

        if (filesThere && PemProblem() is { } pemProblem)
        {
            yield return pemProblem;
        }
    }

    /// <summary>The files must be what the TLS handshake will load, so a bad one fails the check, not the link at run time.</summary>
    private string? PemProblem()
    {
        try
        {
            X509Certificate2Collection authorities = [];
            authorities.ImportFromPemFile(CaFile!);
            if (authorities.Count == 0)
            {
                return $"{SectionName}:CaFile holds no certificate: {CaFile}";
            }
        }
        catch (CryptographicException ex)
        {
            return $"{SectionName}:CaFile is not a PEM certificate ({ex.Message}): {CaFile}";
        }

        try
        {
            using X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(CertificateFile!, KeyFile);
            return certificate.HasPrivateKey ? null : $"{SectionName}:KeyFile does not hold the key of {SectionName}:CertificateFile";
        }
        catch (CryptographicException ex)
        {
            return $"{SectionName}:CertificateFile and {SectionName}:KeyFile must be a PEM certificate and its key ({ex.Message})";
        }
    }

    /// <summary>The session settings for the cloud endpoint: persistent, TLS with the pinned CA and the box's certificate.</summary>
    public MqttClientOptions ToClientOptions(string gatewayId, MqttLastWill lastWill)
    {
        return new MqttClientOptions
        {
            Endpoints = Endpoints().Select(endpoint => endpoint.ToString()).ToList(),
            // The endpoint names the session after the certificate's CN; the id sent follows the brokers' client-id rule.
            ClientId = BrokerListeners.AccountClientId("gateway-" + gatewayId),
            CleanSession = false,
            KeepAliveSeconds = KeepAliveSeconds,
            LastWill = lastWill,
            TlsCaFile = CaFile,
            TlsClientCertificateFile = CertificateFile,
            TlsClientKeyFile = KeyFile,
            ConnectTimeout = Timeout.InfiniteTimeSpan,
        };
    }
}
