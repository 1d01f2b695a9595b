using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Testing;

/// <summary>Knobs for <see cref="AnshimiSystem"/>; the defaults suit end-to-end tests.</summary>
public sealed class AnshimiSystemOptions
{
    public int DeviceCount { get; set; } = 3;

    public string GatewayId { get; set; } = "gw-test";

    public int? Seed { get; set; } = 42;

    /// <summary>The devices' profiles, taking turns (e.g. ["doorbell"]); null for the usual mix of home and shop bells.</summary>
    public IReadOnlyList<string>? Profiles { get; set; }

    /// <summary>Streetlights added after the devices, spread over the districts like them.</summary>
    public int Streetlights { get; set; }

    /// <summary>Extra configuration for the gateway process, as environment variables (e.g. "Gateway__OutboxRetryInterval").</summary>
    public IDictionary<string, string> GatewayEnvironment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public IDictionary<string, string> CloudEnvironment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The seeded central-staff account's password; null for a random one. Systems whose cloud bridges are instances on
    /// one database share the account, so they must share its password.
    /// </summary>
    public string? CloudOperatorPassword { get; set; }

    /// <summary>Further broker users (name to password), allowed only the <c>probe/#</c> topics and <see cref="ProbeTopics"/>: measuring peers.</summary>
    public IDictionary<string, string> ProbeUsers { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Topics besides <c>probe/#</c> the probe users may read and write (e.g. a gateway's commands, to reach it around the cloud).</summary>
    public IList<string> ProbeTopics { get; } = [];
    /// <summary>Mosquitto publishes its counters every second and the probe users may read them (<c>$SYS/broker/#</c>): what a benchmark weighs the broker's traffic with.</summary>
    public bool BrokerStatistics { get; set; }

    /// <summary>Devices added to the generated fleet as given (e.g. streetlights placed along a test street).</summary>
    public IList<DeviceRecord> ExtraDevices { get; } = [];

    /// <summary>The gateway hosts its simulated BLE airspace hub on a free loopback port (<see cref="AnshimiSystem.Airspace"/>).</summary>
    public bool BleAirspace { get; set; }

    /// <summary>
    /// The city's escort key (32 bytes) the cloud bridge signs the app's escort advertisements with; when set, the
    /// fleet's streetlights become the cloud bridge's lights file.
    /// </summary>
    public byte[]? EscortKey { get; set; }

    /// <summary>App back ends the cloud bridge's app API accepts: client name to API key.</summary>
    public IDictionary<string, string> AppClients { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>
/// The whole system on this machine: a real Mosquitto with per-device credentials and ACLs, the
/// gateway and the cloud bridge as real processes (so they can be SIGKILLed), and a fleet file of
/// devices placed inside real Seoul districts. Bells are run by the caller.
/// </summary>
public sealed class AnshimiSystem : IAsyncDisposable
{
    private AnshimiSystem(
        string directory, MosquittoBroker broker, FleetFile fleet, ServiceProcess gateway, ServiceProcess cloud, int gatewayPort, int cloudPort, string cloudOperatorPassword, IPEndPoint? airspace)
    {
        Airspace = airspace;
        CloudOperator = (CloudOperatorName, cloudOperatorPassword);
        Directory = directory;
        Broker = broker;
        Fleet = fleet;
        Gateway = gateway;
        Cloud = cloud;
        GatewayUri = new Uri("http://127.0.0.1:" + gatewayPort + "/");
        CloudUri = new Uri("http://127.0.0.1:" + cloudPort + "/");
        Http = CloudClient(TimeSpan.FromSeconds(15));
    }

    public string Directory { get; }

    public MosquittoBroker Broker { get; }

    public FleetFile Fleet { get; }

    public ServiceProcess Gateway { get; }

    public ServiceProcess Cloud { get; }

    public Uri GatewayUri { get; }

    /// <summary>The gateway's simulated BLE airspace hub, when <see cref="AnshimiSystemOptions.BleAirspace"/> asked for one.</summary>
    public IPEndPoint? Airspace { get; }

    /// <summary>The cloud bridge: API and control-center console.</summary>
    public Uri CloudUri { get; }

    /// <summary>Keeps the cloud console's session cookie: signed in as central staff once the cloud bridge is up.</summary>
    public HttpClient Http { get; }

    /// <summary>The central-staff account seeded into the cloud bridge (the operator API needs sign-in).</summary>
    public (string UserName, string Password) CloudOperator { get; }

    private const string CloudOperatorName = "central";

    public string FleetPath => Path.Combine(Directory, "fleet.json");

    public static async Task<AnshimiSystem> StartAsync(AnshimiSystemOptions options, CancellationToken cancellationToken)
    {
        string directory = Path.Combine(Path.GetTempPath(), "anshimi-system-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        string districts = Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson");
        FleetFile generated = FleetGenerator.Generate(options.DeviceCount, options.GatewayId, SeoulDistricts.Load(districts), options.Seed, options.Streetlights, options.Profiles);
        var fleet = new FleetFile(generated.GatewayId, [.. generated.Devices, .. options.ExtraDevices]);
        fleet.Save(Path.Combine(directory, "fleet.json"));

        var services = new[] { new ServiceUser("gateway", Secret()), new ServiceUser("cloud", Secret()) };
        var brokerOptions = new MosquittoBrokerOptions();
        foreach (DeviceRecord device in fleet.Devices)
        {
            brokerOptions.Users[device.DeviceId] = device.MqttPassword;
        }

        foreach (ServiceUser service in services)
        {
            brokerOptions.Users[service.Name] = service.Password;
        }

        foreach (string line in BrokerAuth.AclText(options.GatewayId, services).Split('\n'))
        {
            brokerOptions.AclLines.Add(line);
        }

        foreach ((string name, string password) in options.ProbeUsers)
        {
            brokerOptions.Users[name] = password;
            brokerOptions.AclLines.Add("user " + name);
            brokerOptions.AclLines.Add("topic readwrite probe/#");
            foreach (string topic in options.ProbeTopics)
            {
                brokerOptions.AclLines.Add("topic readwrite " + topic);
            }
            if (options.BrokerStatistics)
            {
                brokerOptions.AclLines.Add("topic read $SYS/broker/#");
            }
        }

        if (options.BrokerStatistics)
        {
            brokerOptions.ExtraConfigLines.Add("sys_interval 1");
        }

        brokerOptions.ExtraConfigLines.Add("autosave_interval 1");
        MosquittoBroker broker = await MosquittoBroker.StartAsync(brokerOptions, cancellationToken).ConfigureAwait(false);

        int gatewayPort = FreePort.Next();
        var gatewayEnv = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Gateway__Id"] = options.GatewayId,
            ["Gateway__DataDirectory"] = Path.Combine(directory, "gateway"),
            ["Gateway__RegistrySeedFile"] = Path.Combine(directory, "fleet.json"),
            ["Gateway__OutboxRetryInterval"] = "00:00:01",
            ["Gateway__OutboxRetryMaxInterval"] = "00:00:02",
            ["Gateway__HeartbeatInterval"] = "00:00:05",
            ["Mqtt__Host"] = broker.Host,
            ["Mqtt__Port"] = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt__Username"] = "gateway",
            ["Mqtt__Password"] = services[0].Password,
            ["Urls"] = "http://127.0.0.1:" + gatewayPort,
        };
        IPEndPoint? airspace = null;
        if (options.BleAirspace)
        {
            airspace = new IPEndPoint(IPAddress.Loopback, FreePort.NextUdp());
            gatewayEnv["Gateway__Ble__Transport"] = "Airspace";
            gatewayEnv["Gateway__Ble__AirspaceEndpoint"] = airspace.ToString();
            gatewayEnv["Gateway__Ble__HostAirspaceHub"] = "true";
        }

        Merge(gatewayEnv, options.GatewayEnvironment);

        int cloudPort = FreePort.Next();
        string cloudOperatorPassword = options.CloudOperatorPassword ?? Secret();
        var cloudEnv = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CloudBridge__DataDirectory"] = Path.Combine(directory, "cloud"),
            ["CloudBridge__DistrictsGeoJson"] = districts,
            ["CloudBridge__AckRetryInterval"] = "00:00:01",
            ["CloudBridge__AckRetryMaxInterval"] = "00:00:02",
            ["Mqtt__Host"] = broker.Host,
            ["Mqtt__Port"] = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt__Username"] = "cloud",
            ["Mqtt__Password"] = services[1].Password,
            ["Urls"] = "http://127.0.0.1:" + cloudPort,

            // Plain HTTP on loopback, so the session cookie cannot be Secure-only.
            ["Operators__CookieSecurePolicy"] = "SameAsRequest",
            ["Operators__Seed__0__Central"] = "true",
            ["Operators__Seed__0__UserName"] = CloudOperatorName,
            ["Operators__Seed__0__Password"] = cloudOperatorPassword,
        };
        if (options.EscortKey is not null)
        {
            cloudEnv["Escorts__LightsFile"] = WriteLightsFile(Path.Combine(directory, "lights.csv"), fleet);
            cloudEnv["Escorts__EscortKey"] = Convert.ToHexString(options.EscortKey);
        }

        int client = 0;
        foreach ((string name, string key) in options.AppClients)
        {
            cloudEnv["AppApi__Clients__" + client + "__Name"] = name;
            cloudEnv["AppApi__Clients__" + client++ + "__KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        }

        Merge(cloudEnv, options.CloudEnvironment);

        var cloud = new ServiceProcess("cloud-bridge", RepoPaths.ProjectOutput("cloud-bridge/Anshimi.CloudBridge", "Anshimi.CloudBridge.dll"), cloudEnv, Path.Combine(directory, "cloud-bridge.log"));
        var gateway = new ServiceProcess("gateway", RepoPaths.ProjectOutput("gateway/Anshimi.Gateway", "Anshimi.Gateway.dll"), gatewayEnv, Path.Combine(directory, "gateway.log"));
        var system = new AnshimiSystem(directory, broker, fleet, gateway, cloud, gatewayPort, cloudPort, cloudOperatorPassword, airspace);
        try
        {
            cloud.Start();
            gateway.Start();
            await system.WaitHealthyAsync(cloud, cancellationToken).ConfigureAwait(false);
            await system.WaitHealthyAsync(gateway, cancellationToken).ConfigureAwait(false);
            await system.SignInAsync(system.Http, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await system.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return system;
    }

    /// <summary>Waits until the service answers its health endpoint with its MQTT link connected.</summary>
    public async Task WaitHealthyAsync(ServiceProcess service, CancellationToken cancellationToken)
    {
        Uri health = new(service == Gateway ? GatewayUri : CloudUri, "healthz");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string last = "no answer";
        while (!timeout.IsCancellationRequested)
        {
            if (!service.IsRunning)
            {
                throw new InvalidOperationException(service.Name + " exited:\n" + service.ReadLog());
            }

            try
            {
                using HttpResponseMessage response = await Http.GetAsync(health, timeout.Token).ConfigureAwait(false);
                last = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode && !last.Contains("degraded", StringComparison.OrdinalIgnoreCase))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }

            await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
        }

        throw new TimeoutException(service.Name + " did not become healthy; last answer: " + last + "\n" + service.ReadLog());
    }

    /// <summary>Starts a killed service again and waits until it is healthy.</summary>
    public async Task RestartAsync(ServiceProcess service, CancellationToken cancellationToken)
    {
        if (!service.IsRunning)
        {
            service.Start();
        }

        await WaitHealthyAsync(service, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A client for the cloud bridge's operator API that keeps its session cookie and sends the console header.</summary>
    public static HttpClient CloudClient(TimeSpan timeout)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), UseCookies = true }) { Timeout = timeout };
        client.DefaultRequestHeaders.Add("X-Anshimi-Request", "test");
        return client;
    }

    /// <summary>Signs <paramref name="client"/> in to the cloud bridge as <see cref="CloudOperator"/>.</summary>
    public async Task SignInAsync(HttpClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        using HttpResponseMessage response = await client.PostAsJsonAsync(
            new Uri(CloudUri, "api/session"), new { userName = CloudOperator.UserName, password = CloudOperator.Password }, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("cloud sign-in failed: " + (int)response.StatusCode + " " + await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>The cloud bridge's alarms, as its API returns them.</summary>
    public async Task<JsonElement[]> CloudAlarmsAsync(CancellationToken cancellationToken)
    {
        JsonElement alarms = await Http.GetFromJsonAsync<JsonElement>(new Uri(CloudUri, "api/alarms"), cancellationToken).ConfigureAwait(false);
        return alarms.ValueKind == JsonValueKind.Array ? alarms.EnumerateArray().ToArray() : alarms.GetProperty("alarms").EnumerateArray().ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync().ConfigureAwait(false);
        await Cloud.DisposeAsync().ConfigureAwait(false);
        await Broker.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The fleet's streetlights in the cloud bridge's lights file format (cloud-bridge/README.md).</summary>
    private static string WriteLightsFile(string path, FleetFile fleet)
    {
        var lines = new List<string> { "light_id,district_code,gateway_id,lat,lon" };
        lines.AddRange(fleet.Devices
            .Where(d => d.Profile == StreetlightFleet.Profile)
            .Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.DeviceId},{d.DistrictCode},{fleet.GatewayId},{d.Site.Latitude},{d.Site.Longitude}")));
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Secret() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));

    private static void Merge(Dictionary<string, string> target, IDictionary<string, string> extra)
    {
        foreach ((string key, string value) in extra)
        {
            target[key] = value;
        }
    }
}
