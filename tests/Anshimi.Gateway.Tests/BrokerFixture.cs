using System.Globalization;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// A real broker with production-like accounts: the device may only use its own topics, the gateway
/// and a probe (standing in for the cloud side) the whole tree. Plus the fleet file the gateway seeds from.
/// </summary>
public sealed class BrokerFixture : IAsyncDisposable
{
    public const string GatewayId = "gw-it";

    private BrokerFixture(MosquittoBroker broker, string directory, TestDevice device)
    {
        Broker = broker;
        Directory = directory;
        Device = device;
    }

    public MosquittoBroker Broker { get; }

    public string Directory { get; }

    public TestDevice Device { get; }

    public string DeviceUser => DeviceIdText.Format(Device.Id);

    public string FleetPath => Path.Combine(Directory, "fleet.json");

    /// <summary>A broker and fleet with <see cref="Device"/> and <paramref name="others"/>, each a device account of its own.</summary>
    public static async Task<BrokerFixture> StartAsync(params TestDevice[] others)
    {
        string directory = Path.Combine(Path.GetTempPath(), "anshimi-gateway-it", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var device = new TestDevice(0x0000A1B2, 1);
        new FleetFile(GatewayId, [device.Record, .. others.Select(o => o.Record)]).Save(Path.Combine(directory, "fleet.json"));

        var options = new MosquittoBrokerOptions();
        foreach (TestDevice each in others.Prepend(device))
        {
            options.Users[DeviceIdText.Format(each.Id)] = each.Record.MqttPassword;
        }

        options.Users["gateway"] = "gateway-" + Guid.NewGuid().ToString("N");
        options.Users["probe"] = "probe-" + Guid.NewGuid().ToString("N");
        foreach (string line in new[]
        {
            "pattern write " + Topics.Root + "/d/%u/up",
            "pattern read " + Topics.Root + "/d/%u/down",
            "user gateway",
            "topic readwrite " + Topics.Root + "/#",
            "user probe",
            "topic readwrite " + Topics.Root + "/#",
        })
        {
            options.AclLines.Add(line);
        }

        options.ExtraConfigLines.Add("autosave_interval 1");
        MosquittoBroker broker = await MosquittoBroker.StartAsync(options);
        return new BrokerFixture(broker, directory, device);
    }

    /// <summary>The environment the gateway process reads, as a deployment sets it.</summary>
    public Dictionary<string, string> GatewayEnvironment(int httpPort) => new(StringComparer.Ordinal)
    {
        ["Gateway__Id"] = GatewayId,
        ["Gateway__DataDirectory"] = Path.Combine(Directory, "gateway"),
        ["Gateway__RegistrySeedFile"] = FleetPath,
        ["Gateway__OutboxRetryInterval"] = "00:00:01",
        ["Gateway__OutboxRetryMaxInterval"] = "00:00:02",
        ["Gateway__HeartbeatInterval"] = "00:00:02",
        ["Mqtt__Host"] = Broker.Host,
        ["Mqtt__Port"] = Broker.Port.ToString(CultureInfo.InvariantCulture),
        ["Mqtt__Username"] = "gateway",
        ["Mqtt__Password"] = Broker.PasswordOf("gateway"),
        ["Urls"] = "http://127.0.0.1:" + httpPort.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Publishes raw bytes from a file as the device, the way any MQTT peer would: <c>mosquitto_pub -f</c>.</summary>
    public async Task PublishAsDeviceAsync(byte[] payload, string? topic = null)
    {
        string file = Path.Combine(Directory, Guid.NewGuid().ToString("N") + ".bin");
        await File.WriteAllBytesAsync(file, payload);
        ProcessResult result = await ProcessRunner.RunAsync(
            "mosquitto_pub",
            [.. Broker.CliArguments(DeviceUser), "-i", "bell-" + DeviceUser, "-q", "1", "-t", topic ?? Device.UplinkTopic, "-f", file],
            TimeSpan.FromSeconds(20));
        result.EnsureSuccess();
    }

    public async Task PublishAsProbeAsync(string topic, byte[] payload)
    {
        string file = Path.Combine(Directory, Guid.NewGuid().ToString("N") + ".bin");
        await File.WriteAllBytesAsync(file, payload);
        ProcessResult result = await ProcessRunner.RunAsync(
            "mosquitto_pub", [.. Broker.CliArguments("probe"), "-q", "1", "-t", topic, "-f", file], TimeSpan.FromSeconds(20));
        result.EnsureSuccess();
    }

    /// <summary>
    /// A <c>mosquitto_sub</c> as <paramref name="user"/>, ready once the broker granted the subscription.
    /// Binary payloads print as hex (<paramref name="hex"/>), text as is.
    /// </summary>
    public async Task<RunningProcess> SubscribeAsync(string user, string topic, bool hex)
    {
        RunningProcess sub = ProcessRunner.Start(
            "stdbuf",
            ["-oL", "mosquitto_sub", .. Broker.CliArguments(user), "-d", "-q", "1", "-t", topic, "-F", hex ? "%x" : "%p"]);
        await sub.WaitForOutputLineAsync(line => line.Contains("SUBACK", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return sub;
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test for.
        }
    }
}
