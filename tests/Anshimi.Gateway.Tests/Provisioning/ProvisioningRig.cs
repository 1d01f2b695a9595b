using System.Collections.Concurrent;
using System.Globalization;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Provisioning;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Hosting;
using Anshimi.ServiceDefaults;
using Anshimi.Gateway.Provisioning;
using Anshimi.Gateway.Storage;
using Anshimi.Installer;
using Anshimi.Protocol;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>What one installer command printed and returned.</summary>
public sealed record InstallerRun(int Exit, string Out, string Err)
{
    public override string ToString() => "exit " + Exit + "\nstdout:\n" + Out + "\nstderr:\n" + Err;
}

/// <summary>
/// A real Mosquitto with the dynamic-security plugin and the box's listeners (anonymous clients on the
/// provisioning listener, so unclaimed devices can say hello), the gateway hosted in-process with provisioning on and its log
/// recorded, the installer run in-process against the gateway's HTTP API, and factory-fresh
/// simulated bells on the host HAL.
/// </summary>
public sealed class ProvisioningRig : IAsyncDisposable
{
    public const string GatewayId = "gw-prov";

    private readonly List<Task<SimulatedFleet>> _starting = [];
    private readonly CancellationTokenSource _stopping = new();

    private ProvisioningRig(string directory, MosquittoBroker broker, WebApplication gateway, LogRecorder logs, int port)
    {
        Directory = directory;
        Broker = broker;
        Gateway = gateway;
        Logs = logs;
        GatewayUri = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/";
    }

    public string Directory { get; }

    public MosquittoBroker Broker { get; }

    public WebApplication Gateway { get; }

    public LogRecorder Logs { get; }

    public string GatewayUri { get; }

    /// <summary>The "probe" account: a back-end peer allowed the whole anshimi/v1 tree, standing in for the cloud side.</summary>
    public string ProbePassword { get; private init; } = "";

    public string TokenFile => Path.Combine(Directory, "gateway", "admin.token");

    public StringWriter DeviceLog { get; } = new();

    public string StateRoot => Path.Combine(Directory, "devices");

    /// <param name="seed">Devices seeded from a fleet file (active from the start, as a demo deployment).</param>
    public static async Task<ProvisioningRig> StartAsync(params TestDevice[] seed)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("anshimi-prov-").FullName;
        // Every account lives in dynamic security (no password or ACL file), as on a gateway box.
        MosquittoBroker broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { DynamicSecurity = true, SiteListeners = true });
        string gatewayPassword = "gateway-" + Guid.NewGuid().ToString("N");
        string probePassword = "probe-" + Guid.NewGuid().ToString("N");
        await ControlAsync(broker, "createRole", "anshimi-service");
        foreach (string type in new[] { "publishClientSend", "publishClientReceive", "subscribePattern" })
        {
            await ControlAsync(broker, "addRoleACL", "anshimi-service", type, Topics.Root + "/#", "allow");
        }

        foreach ((string name, string password) in new[] { ("gateway", gatewayPassword), ("probe", probePassword) })
        {
            await ControlAsync(broker, "createClient", name, "-p", password);
            await ControlAsync(broker, "addClientRole", name, "anshimi-service");
        }

        int port = FreePort.Next();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Id"] = GatewayId,
            ["Gateway:DataDirectory"] = Path.Combine(directory, "gateway"),
            ["Mqtt:Host"] = broker.Host,
            ["Mqtt:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = "gateway",
            ["Mqtt:Password"] = gatewayPassword,
            ["Provisioning:Enabled"] = "true",
            ["Provisioning:DynamicSecurityUsername"] = broker.DynamicSecurityAdmin,
            ["Provisioning:DynamicSecurityPasswordFile"] = broker.DynamicSecurityPasswordFile,
            ["Provisioning:DistrictsFile"] = Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson"),
            ["Provisioning:NeighbourhoodsFile"] = Path.Combine(RepoPaths.SharedData, "seoul-admin-dongs-2021.geojson"),
        };
        if (seed.Length > 0)
        {
            string fleet = Path.Combine(directory, "fleet.json");
            new FleetFile(GatewayId, [.. seed.Select(d => d.Record)]).Save(fleet);
            settings["Gateway:RegistrySeedFile"] = fleet;
        }

        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
        builder.AddServiceDefaults(GatewayTelemetry.Service);
        var logs = new LogRecorder();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddGateway(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapInstallerApi();
        await app.StartAsync();
        var rig = new ProvisioningRig(directory, broker, app, logs, port) { ProbePassword = probePassword };
        await rig.WaitForAsync(() => logs.Contains("anonymous group set"), "provisioning access at the broker");
        return rig;
    }

    public static FactoryIdentity NewIdentity(uint deviceId, string firmware = "1.0.0") =>
        new(deviceId, ClaimCode.NewCode(), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), "home", firmware);

    /// <summary>Runs <c>anshimi-installer</c> in-process, pointed at this gateway and its token.</summary>
    public Task<InstallerRun> InstallerAsync(params string[] args) => InstallerWithTokenAsync(TokenFile, args);

    public async Task<InstallerRun> InstallerWithTokenAsync(string tokenFile, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] all = [.. args, "--gateway", GatewayUri, "--token-file", tokenFile];
        int exit = await new InstallerCommands(output, error).Build().Parse(all).InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return new InstallerRun(exit, output.ToString(), error.ToString());
    }

    /// <summary>Powers on a factory-fresh bell; the task completes once it runs with its own credentials.</summary>
    public Task<SimulatedFleet> PowerOn(FactoryIdentity identity)
    {
        var log = TextWriter.Synchronized(DeviceLog);
        Task<SimulatedFleet> start = Anshimi.DeviceSim.UnclaimedDevice.ProvisionAndStartAsync(identity, Broker.Host, Broker.Port, StateRoot, log, _stopping.Token, config =>
        {
            config.HeartbeatIntervalMs = 1000;
            config.LongPressMs = 300;
        });
        _starting.Add(start);
        return start;
    }

    /// <summary>
    /// Switches a powered-on device off, so a peer may log in with its account: the box broker names every login's
    /// session after its account (<see cref="BrokerListeners"/>), and the running device and the peer would take that
    /// session from each other, losing whatever the one taken over had not yet sent.
    /// </summary>
    public async Task PowerOffAsync(SimulatedFleet device)
    {
        Task<SimulatedFleet> start = _starting.Single(s => s.IsCompletedSuccessfully && ReferenceEquals(s.Result, device));
        _starting.Remove(start);
        await device.DisposeAsync();
    }

    /// <summary>Powers a device on, waits for its hello, claims it with the installer and returns it running.</summary>
    public async Task<SimulatedFleet> ClaimAsync(FactoryIdentity identity)
    {
        Task<SimulatedFleet> device = PowerOn(identity);
        await WaitForHelloAsync(identity);
        InstallerRun claim = await InstallerAsync("claim", identity.DeviceIdText, "--code", identity.LabelPayload, "--timeout", "60");
        Assert.True(claim.Exit == ExitCodes.Ok, claim.ToString());
        return await device.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async Task WaitForHelloAsync(FactoryIdentity identity) =>
        await WaitForAsync(() => Get<HelloBoard>().Find(identity.DeviceId) is not null, "hello of " + identity.DeviceIdText);

    /// <summary>The credentials the device holds in its flash (secret; for checks against the broker only).</summary>
    public DeviceCredentials StoredCredentials(FactoryIdentity identity) =>
        DeviceProvisioning.Load(new FlashStorage(Path.Combine(StateRoot, identity.DeviceIdText))) ?? throw new InvalidOperationException(identity + " holds no credentials");

    public T Get<T>()
        where T : notnull => Gateway.Services.GetRequiredService<T>();

    /// <summary>A number read from the gateway's SQLite file.</summary>
    public long Count(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + Get<GatewayDatabase>().Path + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri(new Uri(GatewayUri), "metrics"));
    }

    /// <summary>mosquitto_pub as an independent peer; anonymous when <paramref name="user"/> is null.</summary>
    public Task<ProcessResult> PublishAsync(string? user, string? password, string topic, string message) =>
        ProcessRunner.RunAsync("mosquitto_pub", [.. Peer(user, password), "-q", "1", "-t", topic, "-m", message], TimeSpan.FromSeconds(20));

    /// <summary>A mosquitto_sub (verbose: topic and payload) as an independent peer, ready once the broker answered the SUBSCRIBE.</summary>
    public async Task<RunningProcess> SubscribeAsync(string? user, string? password, string topic)
    {
        RunningProcess sub = ProcessRunner.Start("stdbuf", ["-oL", "mosquitto_sub", .. Peer(user, password), "-d", "-v", "-q", "1", "-t", topic]);
        await sub.WaitForOutputLineAsync(line => line.Contains("Subscribed (mid", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return sub;
    }

    /// <summary>A mosquitto_sub as the probe account printing each payload on <paramref name="topic"/> as one hex line (<see cref="HexPayloads"/>).</summary>
    public async Task<RunningProcess> SubscribeHexAsync(string topic)
    {
        RunningProcess sub = ProcessRunner.Start("stdbuf", ["-oL", "mosquitto_sub", .. Peer("probe", ProbePassword), "-d", "-q", "1", "-F", HexLinePrefix + "%x", "-t", topic]);
        await sub.WaitForOutputLineAsync(line => line.Contains("Subscribed (mid", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return sub;
    }

    /// <summary>The payloads a <see cref="SubscribeHexAsync"/> subscriber has printed so far, in order.</summary>
    public static List<byte[]> HexPayloads(RunningProcess subscriber) =>
        [.. subscriber.OutputLines.Where(l => l.StartsWith(HexLinePrefix, StringComparison.Ordinal)).Select(l => Convert.FromHexString(l[HexLinePrefix.Length..].Trim()))];

    private const string HexLinePrefix = "payload ";

    public async Task WaitForAsync(Func<bool> condition, string what, int seconds = 60)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("waited " + seconds + " s for " + what + "\ngateway log:\n" + Logs.Text + "\ndevice log:\n" + DeviceLog);
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (Task<SimulatedFleet> start in _starting)
        {
            try
            {
                await (await start).DisposeAsync();
            }
            catch (OperationCanceledException)
            {
                // Never claimed.
            }
        }

        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await Broker.DisposeAsync();
        _stopping.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is not worth failing a test for.
        }
    }

    /// <summary>One <c>mosquitto_ctrl dynsec</c> command as the broker's admin.</summary>
    private static async Task ControlAsync(MosquittoBroker broker, params string[] command)
    {
        string password = (await File.ReadAllTextAsync(broker.DynamicSecurityPasswordFile)).Trim();
        (await ProcessRunner.RunAsync(
            "mosquitto_ctrl",
            ["-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-i", PeerClientId(), "-u", broker.DynamicSecurityAdmin, "-P", password, "dynsec", .. command],
            TimeSpan.FromSeconds(20))).EnsureSuccess();
    }

    /// <summary>Anonymous peers on the provisioning listener, as unclaimed devices; accounts on the account listener.</summary>
    public string[] Peer(string? user, string? password) =>
        user is null
            ? ["-h", Broker.Host, "-p", Broker.ProvisioningPort.ToString(CultureInfo.InvariantCulture), "-i", PeerClientId()]
            : ["-h", Broker.Host, "-p", Broker.Port.ToString(CultureInfo.InvariantCulture), "-i", PeerClientId(), "-u", user, "-P", password!];

    private static string PeerClientId() => BrokerListeners.ClientIdPrefix + MosquittoBroker.NewClientId("peer");
}

/// <summary>Every log line the gateway writes, formatted, with exceptions: to check what reaches a journal.</summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public string Text => string.Join('\n', _lines);

    public bool Contains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(LogRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue(logLevel + " " + category + ": " + formatter(state, exception) + (exception is null ? "" : " " + exception));
    }
}
