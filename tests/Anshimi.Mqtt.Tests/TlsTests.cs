using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>TLS against a real broker whose certificate is issued by a CA made for the test.</summary>
[Trait("Category", "Integration")]
public sealed class TlsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mqtt-tls-");

    [Fact]
    public async Task Connects_over_tls_to_a_broker_its_ca_file_trusts_and_carries_messages()
    {
        string trusted = WriteCa("trusted", out X509Certificate2 ca, out RSA caKey);
        using (ca)
        using (caKey)
        {
            await using MosquittoBroker broker = await StartTlsBrokerAsync(ca, caKey);
            MqttClientOptions options = broker.ClientOptions(TestBroker.Device);
            options.TlsCaFile = trusted;
            await using var client = MqttSession.Create(options);
            var received = new EventRecorder<MqttMessage>();
            client.AddSubscription("tls/echo", MqttQos.AtLeastOnce, received.Handler());

            await client.ConnectAsync(CancellationToken.None);
            await client.PublishAsync("tls/echo", Encoding.UTF8.GetBytes("over tls"), MqttQos.AtLeastOnce, false, CancellationToken.None);

            MqttMessage echo = await received.WaitForAsync(m => m.Topic == "tls/echo", TestBroker.Wait);
            Assert.Equal("over tls", Encoding.UTF8.GetString(echo.Payload));
        }
    }

    [Fact]
    public async Task Refuses_a_broker_whose_certificate_another_ca_issued()
    {
        string untrusted = WriteCa("untrusted", out X509Certificate2 other, out RSA otherKey);
        WriteCa("broker", out X509Certificate2 ca, out RSA caKey);
        using (other)
        using (otherKey)
        using (ca)
        using (caKey)
        {
            await using MosquittoBroker broker = await StartTlsBrokerAsync(ca, caKey);
            MqttClientOptions options = broker.ClientOptions(TestBroker.Device);
            options.TlsCaFile = untrusted;
            options.ConnectTimeout = TimeSpan.FromSeconds(5);
            await using var client = MqttSession.Create(options);

            var error = await Assert.ThrowsAsync<MqttConnectTimeoutException>(() => client.ConnectAsync(CancellationToken.None));
            Assert.Contains("connect attempt failed", error.Message, StringComparison.Ordinal);
            Assert.NotEqual(MqttConnectionState.Connected, client.State);
        }
    }

    [Fact]
    public async Task Presents_a_client_certificate_to_a_broker_that_requires_one()
    {
        string trusted = WriteCa("trusted", out X509Certificate2 ca, out RSA caKey);
        using (ca)
        using (caKey)
        {
            await using MosquittoBroker broker = await StartTlsBrokerAsync(ca, caKey, requireClientCertificatesFrom: trusted);
            (string certificate, string key) = WriteClientCertificate(ca, caKey);
            MqttClientOptions without = broker.ClientOptions(TestBroker.Device);
            without.TlsCaFile = trusted;
            without.ConnectTimeout = TimeSpan.FromSeconds(3);
            await using (var anonymous = MqttSession.Create(without))
            {
                await Assert.ThrowsAsync<MqttConnectTimeoutException>(() => anonymous.ConnectAsync(CancellationToken.None));
            }

            MqttClientOptions options = broker.ClientOptions(TestBroker.Device);
            options.TlsCaFile = trusted;
            options.TlsClientCertificateFile = certificate;
            options.TlsClientKeyFile = key;
            await using var client = MqttSession.Create(options);
            var received = new EventRecorder<MqttMessage>();
            client.AddSubscription("tls/mutual", MqttQos.AtLeastOnce, received.Handler());

            await client.ConnectAsync(CancellationToken.None);
            await client.PublishAsync("tls/mutual", new byte[] { 0x00, 0xFF }, MqttQos.AtLeastOnce, false, CancellationToken.None);

            MqttMessage echo = await received.WaitForAsync(m => m.Topic == "tls/mutual", TestBroker.Wait);
            Assert.Equal([0x00, 0xFF], echo.Payload);
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private string WriteCa(string name, out X509Certificate2 ca, out RSA key)
    {
        key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Anshimi test CA " + name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string path = Path.Combine(_dir.FullName, name + "-ca.pem");
        File.WriteAllText(path, ca.ExportCertificatePem());
        return path;
    }

    private async Task<MosquittoBroker> StartTlsBrokerAsync(X509Certificate2 ca, RSA caKey, string? requireClientCertificatesFrom = null)
    {
        using RSA serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        using X509Certificate2 server = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        string certFile = Path.Combine(_dir.FullName, "server.pem");
        string keyFile = Path.Combine(_dir.FullName, "server.key");
        File.WriteAllText(certFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, serverKey.ExportPkcs8PrivateKeyPem());

        var options = new MosquittoBrokerOptions();
        options.Users[TestBroker.Device] = TestBroker.DevicePassword;
        options.ExtraConfigLines.Add("certfile " + certFile);
        options.ExtraConfigLines.Add("keyfile " + keyFile);
        if (requireClientCertificatesFrom is not null)
        {
            options.ExtraConfigLines.Add("cafile " + requireClientCertificatesFrom);
            options.ExtraConfigLines.Add("require_certificate true");
        }

        return await MosquittoBroker.StartAsync(options);
    }

    /// <summary>A client certificate the CA issued, as PEM certificate and key files.</summary>
    private (string Certificate, string Key) WriteClientCertificate(X509Certificate2 ca, RSA caKey)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=bell-0000A1B2", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        using X509Certificate2 client = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        string certificate = Path.Combine(_dir.FullName, "client.pem");
        string keyFile = Path.Combine(_dir.FullName, "client.key");
        File.WriteAllText(certificate, client.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificate, keyFile);
    }
}
