using System.Globalization;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Hosting;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// The gateway's real services wired by its own DI extensions, over a temp SQLite file, a fake
/// broker client and a manual clock. Hosted loops are not started: tests drive the components.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    public const string GatewayId = "gw-test";

    private readonly ServiceProvider _services;
    private readonly Action<IServiceCollection>? _configure;

    private GatewayHarness(string directory, FakeMqttClient mqtt, ManualTime time, TestDevice[] devices, Action<IServiceCollection>? configure)
    {
        _configure = configure;
        Directory = directory;
        Mqtt = mqtt;
        Time = time;
        Devices = devices;
        string fleetPath = Path.Combine(directory, "fleet.json");
        new FleetFile(GatewayId, [.. devices.Select(d => d.Record)]).Save(fleetPath);

        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Gateway:Id"] = GatewayId,
                ["Gateway:DataDirectory"] = Path.Combine(directory, "data"),
                ["Gateway:RegistrySeedFile"] = fleetPath,
                ["Gateway:OutboxRetryInterval"] = RetryInterval.ToString("c", CultureInfo.InvariantCulture),
                ["Gateway:OutboxRetryMaxInterval"] = RetryMaxInterval.ToString("c", CultureInfo.InvariantCulture),
            })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IMqttTransportFactory>(mqtt);
        configure?.Invoke(services);
        services.AddGateway(configuration);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Where the gateway publishes to the cloud bridge.</summary>
    public static string EventsTopic => Topics.GatewayEvents(GatewayId);

    public static TimeSpan RetryInterval => TimeSpan.FromSeconds(5);

    public static TimeSpan RetryMaxInterval => TimeSpan.FromSeconds(60);

    public string Directory { get; }

    public FakeMqttClient Mqtt { get; }

    public ManualTime Time { get; }

    public TestDevice[] Devices { get; }

    public AlarmPipeline Pipeline => Get<AlarmPipeline>();

    public AlarmOutbox Outbox => Get<AlarmOutbox>();

    public CloudCommands Commands => Get<CloudCommands>();

    public DeviceRegistry Registry => Get<DeviceRegistry>();

    public AlarmStore Store => Get<AlarmStore>();

    public GatewayOptions Options => Get<IOptions<GatewayOptions>>().Value;

    public string DatabasePath => Get<GatewayDatabase>().Path;

    /// <summary>A fresh gateway on a new temp directory with two registered devices.</summary>
    public static Task<GatewayHarness> StartAsync() =>
        StartAsync(CreateDirectory(), new FakeMqttClient(), new ManualTime(), [new TestDevice(0x0000A1B2, 1), new TestDevice(0x0000C3D4, 101, "shop-panic")]);

    /// <summary>A gateway process on existing state, as after a restart; <paramref name="configure"/> registers services before the gateway's own.</summary>
    public static async Task<GatewayHarness> StartAsync(string directory, FakeMqttClient mqtt, ManualTime time, TestDevice[] devices, Action<IServiceCollection>? configure = null)
    {
        var harness = new GatewayHarness(directory, mqtt, time, devices, configure);
        await harness.Get<IEnumerable<IHostedService>>().OfType<GatewayStartup>().Single().StartAsync(CancellationToken.None);
        await harness.Get<MqttSession>().ConnectAsync(CancellationToken.None);
        return harness;
    }

    /// <summary>Stops this instance (as a kill would: nothing flushed) and starts a new one on the same files.</summary>
    public async Task<GatewayHarness> RestartAsync()
    {
        await DisposeCoreAsync(deleteFiles: false);
        Mqtt.Clear();
        return await StartAsync(Directory, Mqtt, Time, Devices, _configure);
    }

    /// <summary>Drops the broker connection and waits until the session has reconnected.</summary>
    public async Task ReconnectBrokerAsync()
    {
        int before = Mqtt.Connects;
        Mqtt.SetState(MqttConnectionState.Connected, "connection reset");
        MqttSession session = Get<MqttSession>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Mqtt.Connects == before || !session.IsConnected)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public long Metric(string series) => Prometheus.Value(Get<PrometheusExporter>().Scrape(), series);

    public long Count(string sql)
    {
        using var connection = new SqliteConnection("Data Source=" + DatabasePath + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync() => DisposeCoreAsync(deleteFiles: true);

    public static string CreateDirectory()
    {
        string directory = Path.Combine(Path.GetTempPath(), "anshimi-gateway-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }

    private async ValueTask DisposeCoreAsync(bool deleteFiles)
    {
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (deleteFiles)
        {
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
}

/// <summary>Reads one series out of Prometheus text.</summary>
public static class Prometheus
{
    /// <summary>The value of an exact series such as <c>x_total{reason="bad_tag"}</c>; 0 when absent.</summary>
    public static long Value(string text, string series)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return (long)double.Parse(line.AsSpan(series.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
