using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Anshimi.CloudBridge.Sites;
using Anshimi.Firmware.Host;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Tests.Provisioning;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests.Sites;

/// <summary>
/// The box broker's client-id rule on a real Mosquitto with the box's listeners (BrokerListeners.SiteBroker) and
/// accounts made by the gateway's own dynamic-security code: no login and no anonymous client can take over the
/// gateway's or a device's session, and the box listens for devices only on their address.
/// </summary>
[Trait("Category", "Sites")]
public sealed class BoxBrokerClientIdTests : IAsyncLifetime
{
    private const uint DeviceA = 0x0000E001;
    private const uint DeviceB = 0x0000E002;

    private ProvisioningRig _rig = null!;

    public async Task InitializeAsync() => _rig = await ProvisioningRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Anonymous_clients_a_device_login_and_a_second_gateway_cannot_take_the_gateways_session()
    {
        MqttSession gateway = _rig.Get<MqttSession>();
        await _rig.WaitForAsync(() => gateway.IsConnected, "the gateway's broker session");
        ConcurrentQueue<MqttConnectionState> gatewayStates = TakeoverAttempt.Watch(gateway);
        DynamicSecurity accounts = _rig.Get<DynamicSecurity>();
        await accounts.CreateDeviceAccountAsync(DeviceA, "device-a-password", CancellationToken.None);
        await accounts.EnsureGatewayAccountAsync("gw-second", "second-gateway-password", "gw-second", CancellationToken.None);

        // The id the gateway sends, and the name its session has on the broker (its account).
        string sent = _rig.Get<IOptions<MqttClientOptions>>().Value.ClientId;
        const string session = "gateway";

        (string Who, string? User, string? Password)[] attackers =
        [
            ("anonymous", null, null),
            ("device", DeviceIdText.Format(DeviceA), "device-a-password"),
            ("second gateway", "gw-second", "second-gateway-password"),
        ];
        var outcomes = new List<string>();
        foreach ((string who, string? user, string? password) in attackers)
        {
            foreach (string id in new[] { sent, session })
            {
                outcomes.Add(who + " as " + id + " on devices: " + await AttemptAsync(_rig.Broker.Port, user, password, id));
                outcomes.Add(who + " as " + id + " on provisioning: " + await AttemptAsync(_rig.Broker.ProvisioningPort, user, password, id));
            }
        }

        Assert.Equal(
        [
            // Without an account there is no client on the account listener; on the provisioning listener an anonymous
            // client keeps the id it sends, which must carry the prefix no account's session has.
            "anonymous as " + sent + " on devices: refused",
            "anonymous as " + sent + " on provisioning: connected as " + sent,
            "anonymous as gateway on devices: refused",
            "anonymous as gateway on provisioning: refused",
            // A login's session is its own account's, whatever id it sends; the provisioning listener takes no logins.
            "device as " + sent + " on devices: connected as 0000E001",
            "device as " + sent + " on provisioning: refused",
            "device as gateway on devices: refused",
            "device as gateway on provisioning: refused",
            "second gateway as " + sent + " on devices: connected as gw-second",
            "second gateway as " + sent + " on provisioning: refused",
            "second gateway as gateway on devices: refused",
            "second gateway as gateway on provisioning: refused",
        ],
        outcomes);
        Assert.True(gateway.IsConnected);
        Assert.Empty(gatewayStates);
        Assert.DoesNotContain("already connected, closing old connection", _rig.Broker.ReadLog(), StringComparison.Ordinal);
        using var http = new HttpClient();
        HttpResponseMessage health = await http.GetAsync(new Uri(new Uri(_rig.GatewayUri), "healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_device_logging_in_with_another_devices_client_id_never_reaches_its_session()
    {
        DynamicSecurity accounts = _rig.Get<DynamicSecurity>();
        await accounts.CreateDeviceAccountAsync(DeviceA, "device-a-password", CancellationToken.None);
        await accounts.CreateDeviceAccountAsync(DeviceB, "device-b-password", CancellationToken.None);
        DeviceRecord b = Device(DeviceB, "device-b-password");
        MqttClientOptions bOptions = MqttLink.OptionsFor(b, _rig.Broker.Host, _rig.Broker.Port);
        await using MqttSession victim = MqttSession.Create(bOptions);
        await victim.ConnectAsync(CancellationToken.None);
        ConcurrentQueue<MqttConnectionState> victimStates = TakeoverAttempt.Watch(victim);

        string a = DeviceIdText.Format(DeviceA);
        string[] outcomes =
        [
            await AttemptAsync(_rig.Broker.Port, a, "device-a-password", bOptions.ClientId),
            await AttemptAsync(_rig.Broker.Port, a, "device-a-password", b.DeviceId),
            await AttemptAsync(_rig.Broker.ProvisioningPort, a, "device-a-password", bOptions.ClientId),
            await AttemptAsync(_rig.Broker.ProvisioningPort, a, "device-a-password", b.DeviceId),
            await AttemptAsync(_rig.Broker.ProvisioningPort, null, null, b.DeviceId),
            await AttemptAsync(_rig.Broker.ProvisioningPort, null, null, bOptions.ClientId),
            await AttemptAsync(_rig.Broker.Port, null, null, bOptions.ClientId),
        ];

        Assert.Equal(["connected as 0000E001", "refused", "refused", "refused", "refused", "connected as " + bOptions.ClientId, "refused"], outcomes);
        Assert.True(victim.IsConnected);
        Assert.Empty(victimStates);
        Assert.DoesNotContain("already connected, closing old connection", _rig.Broker.ReadLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_box_listens_for_devices_only_on_their_address_and_offers_them_tls_with_its_own_ca()
    {
        // A CA with a server certificate for the devices' address, as the box's own CA gives its broker.
        string boxDirectory = Directory.CreateTempSubdirectory("box-ca-").FullName;
        var box = new SiteAuthority(boxDirectory, new SiteAuthorityOptions(), TimeProvider.System);
        box.Initialize(["127.0.0.2", "127.0.0.1", "localhost"]);
        try
        {
            const string devices = "127.0.0.2";
            await using MosquittoBroker broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions
            {
                DynamicSecurity = true,
                SiteListeners = true,
                DeviceAddress = devices,
                TlsCertificateFile = box.EndpointCertificateFile,
                TlsKeyFile = box.EndpointKeyFile,
            });
            MqttClientOptions service = broker.ClientOptions(null);
            await using var accounts = new DynamicSecurity(
                new MqttNetTransportFactory(),
                Options.Create(service),
                Options.Create(new ProvisioningOptions { DynamicSecurityUsername = broker.DynamicSecurityAdmin, DynamicSecurityPasswordFile = broker.DynamicSecurityPasswordFile }),
                NullLogger<DynamicSecurity>.Instance);
            await accounts.EnsureBrokerPolicyAsync(CancellationToken.None);
            await accounts.CreateDeviceAccountAsync(DeviceA, "device-a-password", CancellationToken.None);
            await accounts.EnsureGatewayAccountAsync("gw-tls", "gateway-password", "gw-tls", CancellationToken.None);

            // The box's own services on loopback.
            (service.Username, service.Password) = ("gw-tls", "gateway-password");
            await using MqttSession gateway = MqttSession.Create(service);
            var uplinks = new EventRecorder<MqttMessage>();
            gateway.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, (message, _) =>
            {
                uplinks.Add(message);
                return Task.CompletedTask;
            });
            await gateway.ConnectAsync(CancellationToken.None);

            // A device that supports TLS, given the box's CA, on the devices' address.
            MqttClientOptions tls = MqttLink.OptionsFor(Device(DeviceA, "device-a-password"), devices, broker.TlsPort!.Value);
            tls.TlsCaFile = box.CaCertificateFile;
            await using MqttSession device = MqttSession.Create(tls);
            await device.ConnectAsync(CancellationToken.None);
            await device.PublishAsync(Topics.DeviceUplink(DeviceA), "over tls"u8.ToArray(), MqttQos.AtLeastOnce, false, CancellationToken.None);
            MqttMessage heard = await uplinks.WaitForAsync(m => m.Topic == Topics.DeviceUplink(DeviceA), TimeSpan.FromSeconds(20));
            Assert.Equal("over tls"u8.ToArray(), heard.Payload.ToArray());
            Assert.Contains("as 0000E001 (", broker.ReadLog(), StringComparison.Ordinal);

            // Plain MQTT on the devices' address too; nothing for devices anywhere else.
            Assert.Equal("connected as 0000E001", await AttemptAsync(broker, devices, broker.Port, DeviceIdText.Format(DeviceA), "device-a-password", BrokerListeners.AccountClientId("0000E001")));
            Assert.True(await AcceptsAsync(devices, broker.ProvisioningPort));
            Assert.False(await AcceptsAsync(broker.Host, broker.ProvisioningPort));
            Assert.False(await AcceptsAsync(broker.Host, broker.TlsPort.Value));
    
        }
        finally
        {
            Directory.Delete(boxDirectory, recursive: true);
        }
    }

    private static DeviceRecord Device(uint id, string password) =>
        new(DeviceIdText.Format(id), Convert.ToHexString(new byte[32]), password, "home", new SiteInfo("home", 37.5665, 126.978, "test"), "11140");

    private Task<string> AttemptAsync(int port, string? user, string? password, string clientId) =>
        AttemptAsync(_rig.Broker, _rig.Broker.Host, port, user, password, clientId);

    private static Task<string> AttemptAsync(MosquittoBroker broker, string host, int port, string? user, string? password, string clientId)
    {
        MqttClientOptions options = broker.ClientOptions(null, clientId);
        (options.Host, options.Port, options.Username, options.Password) = (host, port, user, password);
        return TakeoverAttempt.RunAsync(broker, options);
    }

    private static async Task<bool> AcceptsAsync(string host, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(host), port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
