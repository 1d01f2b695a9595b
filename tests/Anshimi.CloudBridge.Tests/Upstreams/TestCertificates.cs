using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>A throw-away CA and a server certificate for localhost / 127.0.0.1, as PEM files for Mosquitto and the MQTT session.</summary>
public sealed class TestCertificates : IDisposable
{
    private readonly string _directory;

    private TestCertificates(string directory) => _directory = directory;

    public string CaFile => Path.Combine(_directory, "ca.pem");

    public string ServerCertFile => Path.Combine(_directory, "server.pem");

    public string ServerKeyFile => Path.Combine(_directory, "server.key");

    public static TestCertificates Create()
    {
        var tls = new TestCertificates(Directory.CreateTempSubdirectory("tls-").FullName);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using RSA caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Anshimi Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using RSA serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using X509Certificate2 server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));

        File.WriteAllText(tls.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(tls.ServerCertFile, server.ExportCertificatePem());
        File.WriteAllText(tls.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        return tls;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
