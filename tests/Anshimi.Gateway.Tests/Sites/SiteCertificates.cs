using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>
/// A throw-away CA as PEM files: a server certificate for 127.0.0.1 / 127.0.0.2 / localhost, and client
/// certificates with a given CN, as a box's or the cloud's CA issues them.
/// </summary>
public sealed class SiteCertificates : IDisposable
{
    private readonly RSA _caKey;
    private readonly X509Certificate2 _ca;

    private SiteCertificates(string directory, RSA caKey, X509Certificate2 ca)
    {
        Directory = directory;
        _caKey = caKey;
        _ca = ca;
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ServerCertificateFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public static SiteCertificates Create(string name)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("site-tls-").FullName;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        RSA caKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + name, caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 ca = request.CreateSelfSigned(now.AddDays(-2), now.AddDays(60));
        var certificates = new SiteCertificates(directory, caKey, ca);
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem());

        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.Parse("127.0.0.2"));
        certificates.Issue("localhost", "1.3.6.1.5.5.7.3.1", names.Build(), certificates.ServerCertificateFile, certificates.ServerKeyFile);
        return certificates;
    }

    /// <summary>A client certificate with this CN; returns its certificate and key files.</summary>
    public (string CertificateFile, string KeyFile) IssueClient(string commonName)
    {
        string certificate = Path.Combine(Directory, commonName + ".pem");
        string key = Path.Combine(Directory, commonName + ".key");
        Issue(commonName, "1.3.6.1.5.5.7.3.2", null, certificate, key);
        return (certificate, key);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Issue(string commonName, string usage, X509Extension? names, string certificateFile, string keyFile)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        using X509Certificate2 issued = request.Create(_ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(certificateFile, issued.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
