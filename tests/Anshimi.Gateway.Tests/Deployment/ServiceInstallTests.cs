using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests.Deployment;

/// <summary>
/// The install script into a staging root, the unit it writes checked by systemd itself, and the configuration check
/// the unit runs before every start.
/// </summary>
[Trait("Category", "Integration")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServiceInstallTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "anshimi-install-" + Guid.NewGuid().ToString("N")[..12]);

    private static string BuiltGateway => Path.GetDirectoryName(RepoPaths.ProjectOutput("gateway/Anshimi.Gateway", "Anshimi.Gateway.dll"))!;

    private string Config => Path.Combine(_root, "etc", "anshimi", "gateway.json");

    private string InstalledDll => Path.Combine(_root, "opt", "anshimi", "gateway", "Anshimi.Gateway.dll");

    private string Unit => Path.Combine(_root, "etc", "systemd", "system", "anshimi-gateway.service");

    private string BrokerConf => Path.Combine(_root, "etc", "mosquitto", "conf.d", "anshimi.conf");

    private string DynamicSecurityFile => Path.Combine(_root, "var", "lib", "mosquitto", "dynamic-security.json");

    private string AdminSecret => Path.Combine(_root, "etc", "anshimi", "dynsec-admin.secret");

    private string Districts => Path.Combine(_root, "usr", "share", "anshimi", "seoul-municipalities.geojson");

    private string Neighbourhoods => Path.Combine(_root, "usr", "share", "anshimi", "seoul-admin-dongs-2021.geojson");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Installs_a_unit_systemd_accepts_and_a_configuration_of_its_own_that_passes_the_check()
    {
        (await Install("gw-pole-7")).EnsureSuccess();

        Assert.True(File.Exists(InstalledDll));
        string config = await File.ReadAllTextAsync(Config);
        Assert.DoesNotContain("@", config, StringComparison.Ordinal);
        Assert.Contains("\"Id\": \"gw-pole-7\"", config, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Config));

        ProcessResult verify = await ProcessRunner.RunAsync("systemd-analyze", ["verify", Unit], Timeout);
        // Only what systemd says of this unit: a host's own units may draw warnings of their own.
        string[] findings = [.. verify.StandardError.Split('\n').Where(l => l.Contains("anshimi-gateway", StringComparison.Ordinal))];
        Assert.True(verify.ExitCode == 0 && findings.Length == 0, verify.StandardError);

        ProcessResult check = await CheckConfig(Config);
        Assert.Equal(0, check.ExitCode);
    }

    [Fact]
    public async Task Each_installation_gets_its_own_broker_password_and_a_reinstall_keeps_the_existing_file()
    {
        (await Install("gw-a")).EnsureSuccess();
        string first = await File.ReadAllTextAsync(Config);
        File.Delete(Config);
        (await Install("gw-a")).EnsureSuccess();
        string second = await File.ReadAllTextAsync(Config);
        Assert.NotEqual(PasswordOf(first), PasswordOf(second));
        Assert.True(PasswordOf(first).Length >= 24);

        await File.WriteAllTextAsync(Config, second.Replace("00:00:30", "00:00:45", StringComparison.Ordinal));
        ProcessResult again = await Install("gw-a");
        again.EnsureSuccess();
        Assert.Contains("00:00:45", await File.ReadAllTextAsync(Config), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reinstall_keeps_a_broker_configuration_with_the_client_id_rule_and_replaces_one_without_it()
    {
        (await Install("gw-a")).EnsureSuccess();
        await File.AppendAllTextAsync(BrokerConf, "# edited on the box\n");
        (await Install("gw-a")).EnsureSuccess();
        Assert.EndsWith("# edited on the box\n", await File.ReadAllTextAsync(BrokerConf), StringComparison.Ordinal);

        const string before = "per_listener_settings false\nlistener 1883\nallow_anonymous true\n";
        await File.WriteAllTextAsync(BrokerConf, before);
        ProcessResult upgrade = await Install("gw-a");
        upgrade.EnsureSuccess();
        Assert.Contains("clientid_prefixes anshimi/", await File.ReadAllLinesAsync(BrokerConf));
        Assert.Equal(before, await File.ReadAllTextAsync(BrokerConf + ".old"));
        Assert.Contains("without the client-id rule", upgrade.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"HeartbeatInterval\": \"00:00:30\"", "\"HeartbeatInterval\": \"soon\"", "Gateway:HeartbeatInterval")]
    [InlineData("\"home\": \"00:00:20\"", "\"home\": \"-00:00:20\"", "Gateway:Supervision:home")]
    [InlineData("\"SirenLine\": 26", "\"SirenLine\": 26, \"SirenEvents\": [122]", "Gateway:Outputs:SirenEvents")]
    [InlineData("\"Address\": 66", "\"Address\": 16", "Power:Address")]
    [InlineData("\"Id\": \"gw-b\"", "\"Id\": \"gw/b\"", "Gateway:Id")]
    [InlineData("\"Port\": 1883,", "\"Port\": 1883", "LineNumber")]
    public async Task A_bad_configuration_is_refused_with_exit_status_78_naming_the_field(string good, string bad, string named)
    {
        (await Install("gw-b")).EnsureSuccess();
        string broken = Path.Combine(_root, "broken.json");
        string text = await File.ReadAllTextAsync(Config);
        Assert.Contains(good, text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(broken, text.Replace(good, bad, StringComparison.Ordinal));

        ProcessResult check = await CheckConfig(broken);

        Assert.Equal(78, check.ExitCode);
        Assert.Contains(named, check.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", check.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_installed_broker_listens_for_devices_on_their_interface_only_with_the_client_id_rule_and_tls_from_the_boxs_own_ca()
    {
        (await Install("gw-box", "--device-interface", "wlan1", "--device-address", "192.168.4.1")).EnsureSuccess();

        string[] listenerLines = [.. (await File.ReadAllLinesAsync(BrokerConf)).Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("plugin", StringComparison.Ordinal))];
        Assert.Equal(
            BrokerListeners.SiteBroker(new SiteBrokerListeners
            {
                DeviceInterface = "wlan1",
                TlsPort = 8883,
                TlsCertificateFile = "/etc/mosquitto/certs/anshimi-box.pem",
                TlsKeyFile = "/etc/mosquitto/certs/anshimi-box.key",
            }),
            listenerLines);

        // The broker's certificate chains to the box's CA and names the box's address on the devices' network.
        using X509Certificate2 ca = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(_root, "etc", "anshimi", "box-ca.pem")));
        using X509Certificate2 broker = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(_root, "etc", "mosquitto", "certs", "anshimi-box.pem")));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(broker));
        Assert.True(broker.MatchesHostname("192.168.4.1"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_root, "etc", "anshimi", "box-ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_root, "etc", "mosquitto", "certs", "anshimi-box.key")));
    }

    [Fact]
    public async Task The_installed_broker_runs_on_the_plugin_and_prepare_broker_gives_the_gateway_an_account_for_its_topics_only()
    {
        (await Install("gw-box")).EnsureSuccess();
        string[] brokerLines = await File.ReadAllLinesAsync(BrokerConf);
        Assert.Contains("allow_anonymous true", brokerLines);
        Assert.Contains("plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json", brokerLines);
        Assert.Contains("anshimi-provisioner", await File.ReadAllTextAsync(DynamicSecurityFile), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminSecret));
        Assert.True(File.Exists(Districts));

        // The installed broker settings (its listeners on loopback, as the test's listener check above pins them), on
        // a port of the test's own and the staged plugin file.
        var options = new MosquittoBrokerOptions { SiteListeners = true };
        foreach (string line in brokerLines.Where(l => l.StartsWith("plugin", StringComparison.Ordinal)))
        {
            options.ExtraConfigLines.Add(line.Replace("/var/lib/mosquitto/dynamic-security.json", DynamicSecurityFile, StringComparison.Ordinal));
        }

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(options);
        string[] staged =
        [
            "--Mqtt:Host=" + broker.Host, "--Mqtt:Port=" + broker.Port.ToString(CultureInfo.InvariantCulture),
            "--Provisioning:DynamicSecurityPasswordFile=" + AdminSecret, "--Provisioning:DistrictsFile=" + Districts,
            "--Provisioning:NeighbourhoodsFile=" + Neighbourhoods, "--Gateway:DataDirectory=" + Path.Combine(_root, "state"),
        ];

        // Twice, as a reinstall does: the second finds everything in place.
        for (int run = 0; run < 2; run++)
        {
            ProcessResult prepared = await ProcessRunner.RunAsync("dotnet", [InstalledDll, "--config", Config, "--prepare-broker", .. staged], Timeout);
            Assert.True(prepared.ExitCode == 0, prepared.StandardError);
        }

        string config = await File.ReadAllTextAsync(Config);
        MqttClientOptions gateway = broker.ClientOptions(null);
        (gateway.Username, gateway.Password) = ("gw-box", PasswordOf(config));
        await using MqttSession client = MqttSession.Create(gateway);
        MqttSubscriptionHandler ignore = (_, _) => Task.CompletedTask;
        await client.ConnectAsync(CancellationToken.None);
        await client.SubscribeAsync(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, ignore, CancellationToken.None);
        await client.SubscribeAsync(Topics.GatewayCommands("gw-box"), MqttQos.AtLeastOnce, ignore, CancellationToken.None);
        await Assert.ThrowsAsync<MqttSubscriptionRefusedException>(() => client.SubscribeAsync(Topics.GatewayCommands("gw-other"), MqttQos.AtLeastOnce, ignore, CancellationToken.None));

        // A wrong admin password is a clear failure with its own exit status, not a hang or a stack trace.
        string wrong = Path.Combine(_root, "wrong.secret");
        await File.WriteAllTextAsync(wrong, "not-the-password\n");
        ProcessResult refused = await ProcessRunner.RunAsync(
            "dotnet", [InstalledDll, "--config", Config, "--prepare-broker", .. staged, "--Provisioning:DynamicSecurityPasswordFile=" + wrong], Timeout);
        Assert.Equal(69, refused.ExitCode);
        Assert.Contains("preparing the broker failed", refused.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Sites")]
    public async Task Links_the_box_to_the_cloud_from_a_url_and_the_credentials_the_cloud_issued_for_it_alone()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(cts.Token);
        string credentials = await endpoint.IssueAsync("gw-alley-3", cts.Token);
        string other = await endpoint.IssueAsync("gw-alley-4", cts.Token);

        ProcessResult wrongBox = await Install("gw-alley-3", "--cloud-url", endpoint.Url, "--cloud-credentials", other);
        Assert.Equal(2, wrongBox.ExitCode);
        Assert.Contains("gw-alley-4", wrongBox.StandardError, StringComparison.Ordinal);

        (await Install("gw-alley-3", "--cloud-url", endpoint.Url, "--cloud-credentials", credentials)).EnsureSuccess();

        string cloud = Path.Combine(_root, "etc", "anshimi", "cloud");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(credentials, "gateway.crt")), await File.ReadAllTextAsync(Path.Combine(cloud, "gateway.crt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(cloud, "gateway.key")));
        string config = await File.ReadAllTextAsync(Config);
        Assert.Contains("\"Url\": \"" + endpoint.Url + "\"", config, StringComparison.Ordinal);
        Assert.Contains("\"KeyFile\": \"/etc/anshimi/cloud/gateway.key\"", config, StringComparison.Ordinal);
        Assert.Contains("\"Password\"", config, StringComparison.Ordinal);

        // The same install sets up the box's broker for its devices with the client-id rule.
        Assert.Equal(
            BrokerListeners.SiteBroker(new SiteBrokerListeners
            {
                DeviceInterface = "wlan0",
                TlsPort = 8883,
                TlsCertificateFile = "/etc/mosquitto/certs/anshimi-box.pem",
                TlsKeyFile = "/etc/mosquitto/certs/anshimi-box.key",
            }),
            (await File.ReadAllLinesAsync(BrokerConf)).Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("plugin", StringComparison.Ordinal)));

        // The check the unit runs refuses a link without its key.
        ProcessResult missingKey = await ProcessRunner.RunAsync(
            "dotnet",
            [InstalledDll, "--config", Config, "--check-config", "--Provisioning:DynamicSecurityPasswordFile=" + AdminSecret, "--Provisioning:DistrictsFile=" + Districts,
             "--Cloud:CaFile=" + Path.Combine(cloud, "ca.crt"), "--Cloud:CertificateFile=" + Path.Combine(cloud, "gateway.crt"), "--Cloud:KeyFile=" + Path.Combine(cloud, "missing.key")],
            Timeout);
        Assert.Equal(78, missingKey.ExitCode);
        Assert.Contains("Cloud:KeyFile", missingKey.StandardOutput + missingKey.StandardError, StringComparison.Ordinal);
    }

    private static string PasswordOf(string config)
    {
        const string Marker = "\"Password\": \"";
        int start = config.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length;
        return config[start..config.IndexOf('"', start)];
    }

    private Task<ProcessResult> Install(string gatewayId, params string[] more) =>
        ProcessRunner.RunAsync("bash", [RepoPaths.Combine("scripts", "install-gateway.sh"), "--destdir", _root, "--from", BuiltGateway, "--gateway-id", gatewayId, .. more], Timeout);

    // The staged files stand in for the installed paths the configuration names, as the install script's own check does.
    private Task<ProcessResult> CheckConfig(string path) => ProcessRunner.RunAsync(
        "dotnet",
        [InstalledDll, "--config", path, "--check-config", "--Provisioning:DynamicSecurityPasswordFile=" + AdminSecret, "--Provisioning:DistrictsFile=" + Districts,
            "--Provisioning:NeighbourhoodsFile=" + Neighbourhoods],
        Timeout);
}
