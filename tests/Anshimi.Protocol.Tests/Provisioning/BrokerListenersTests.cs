using System.Text.Json.Nodes;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Protocol.Tests.Provisioning;

/// <summary>
/// The client-id rule's configuration as the brokers are given it; the real brokers' behaviour under it is
/// tested in Anshimi.Gateway.Tests/Sites.
/// </summary>
public sealed class BrokerListenersTests
{
    [Fact]
    public void On_an_interface_every_device_listener_is_bound_to_it_and_only_the_services_listen_on_loopback()
    {
        IReadOnlyList<string> lines = BrokerListeners.SiteBroker(new SiteBrokerListeners
        {
            DeviceInterface = "wlan0",
            TlsPort = 8883,
            TlsCertificateFile = "/etc/mosquitto/certs/box.pem",
            TlsKeyFile = "/etc/mosquitto/certs/box.key",
        });

        int[] listeners = [.. lines.Select((line, index) => (line, index)).Where(l => l.line.StartsWith("listener ", StringComparison.Ordinal)).Select(l => l.index)];
        Assert.Equal(["listener 1883 127.0.0.1", "listener 1883", "listener 8883", "listener 1884"], listeners.Select(i => lines[i]));
        Assert.All(listeners.Skip(1), i => Assert.Equal("bind_interface wlan0", lines[i + 1]));

        // The account listeners name the session after the login; the provisioning one, last, keeps ids.
        Assert.Equal(3, lines.Count(l => l == "use_username_as_clientid true"));
        Assert.DoesNotContain("use_username_as_clientid true", lines.Skip(listeners[^1]));
        Assert.Equal("max_connections " + BrokerListeners.MaxUnclaimedConnections, lines[^1]);
        Assert.Equal(["per_listener_settings false", "allow_anonymous true", "clientid_prefixes " + BrokerListeners.ClientIdPrefix], lines.Take(3));
    }

    [Fact]
    public void Devices_on_the_loopback_address_share_the_services_listener()
    {
        IReadOnlyList<string> lines = BrokerListeners.SiteBroker(new SiteBrokerListeners { Port = 18830 });

        Assert.Equal(["listener 18830 127.0.0.1", "listener 18831 127.0.0.1"], lines.Where(l => l.StartsWith("listener ", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_tls_port_without_its_certificate_is_refused()
    {
        Assert.Throws<ArgumentException>(() => BrokerListeners.SiteBroker(new SiteBrokerListeners { TlsPort = 8883 }));
    }

    [Fact]
    public void The_gateway_listener_requires_a_certificate_whose_cn_names_the_session()
    {
        IReadOnlyList<string> lines = BrokerListeners.GatewayCertificateListener(8883, "0.0.0.0", "ca.pem", "cloud.pem", "cloud.key", "crl.pem");

        Assert.Equal("listener 8883 0.0.0.0", lines[0]);
        Assert.Contains("require_certificate true", lines);
        Assert.Contains("use_identity_as_username true", lines);
        Assert.Contains("use_username_as_clientid true", lines);
        Assert.Contains("tls_version tlsv1.2", lines);
        Assert.Contains("crlfile crl.pem", lines);
    }

    [Fact]
    public void Accounts_carry_their_name_as_client_id_and_no_account_name_holds_a_slash()
    {
        JsonObject createClient = BrokerAccounts.CreateDeviceCommands(0x0000A001, "password").Single(c => c["command"]!.GetValue<string>() == "createClient");

        Assert.Equal("0000A001", createClient["clientid"]!.GetValue<string>());
        Assert.Throws<ArgumentException>(() => BrokerAccounts.CreateAccountCommands("anshimi/gateway", "password", "role", []));
        Assert.Throws<ArgumentException>(() => BrokerAccounts.CreateAccountCommands("", "password", "role", []));
        Assert.StartsWith(BrokerListeners.ClientIdPrefix, BrokerListeners.UnclaimedClientId("0000A001"), StringComparison.Ordinal);
        Assert.StartsWith(BrokerListeners.ClientIdPrefix, BrokerListeners.AccountClientId("0000A001"), StringComparison.Ordinal);
    }
}
