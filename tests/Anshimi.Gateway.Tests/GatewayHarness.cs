using System.Globalization;
using Anshimi.Gateway.Diagnostics;
using Anshimi.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
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
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// The gateway's real services wired by its own DI extensions, over a temp SQLite file, a fake
/// broker client and a virtual clock (<see cref="FakeTimeProvider"/>). Hosted loops are not started: tests drive the components.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    public const string GatewayId = "gw-test";

    private readonly ServiceProvider _services;
    private readonly Action<IServiceCollection>? _configure;

    private GatewayHarness(string directory, FakeMqttClient mqtt, FakeTimeProvider time, TestDevice[] devices, Action<IServiceCollection>? configure)
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
        services.AddServiceTelemetry(configuration, GatewayTelemetry.Service);
        services.AddGateway(configuration);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        // As the host's telemetry service does at start: listening before the first measurement.
        _ = _services.GetRequiredService<MeterProvider>();
        _ = _services.GetRequiredService<TracerProvider>();
    }

    /// <summary>Where the gateway publishes to the cloud bridge.</summary>
    public static string EventsTopic => Topics.GatewayEvents(GatewayId);

    /// <summary>A virtual clock at a fixed evening start; nothing moves it but the test.</summary>
    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 3, 4, 21, 30, 0, TimeSpan.Zero));

    public static TimeSpan RetryInterval => TimeSpan.FromSeconds(5);

    public static TimeSpan RetryMaxInterval => TimeSpan.FromSeconds(60);

    public string Directory { get; }

    public FakeMqttClient Mqtt { get; }

    public FakeTimeProvider Time { get; }

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
        StartAsync(CreateDirectory(), new FakeMqttClient(), NewClock(), [new TestDevice(0x0000A1B2, 1), new TestDevice(0x0000C3D4, 101, "shop-panic")]);

    /// <summary>A gateway process on existing state, as after a restart; <paramref name="configure"/> registers services before the gateway's own.</summary>
    public static async Task<GatewayHarness> StartAsync(string directory, FakeMqttClient mqtt, FakeTimeProvider time, TestDevice[] devices, Action<IServiceCollection>? configure = null)
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

    /// <summary>An online backup of the store (SQLite's backup API, as <c>sqlite3 .backup</c> takes one).</summary>
    public void BackupTo(string path)
    {
        using var source = new SqliteConnection("Data Source=" + DatabasePath + ";Pooling=False");
        using var target = new SqliteConnection("Data Source=" + path + ";Pooling=False");
        source.Open();
        target.Open();
        source.BackupDatabase(target);
    }

    /// <summary>Stops this instance, puts the backup in place of its store, and starts a new one on it.</summary>
    public async Task<GatewayHarness> RestoreAsync(string backupPath)
    {
        string database = DatabasePath;
        await DisposeCoreAsync(deleteFiles: false);
        Mqtt.Clear();
        File.Delete(database + "-wal");
        File.Delete(database + "-shm");
        File.Copy(backupPath, database, overwrite: true);
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

    public long Metric(string series) => Prometheus.Value(ScrapeMetrics(), series);

    /// <summary>What <c>GET /metrics</c> answers: the gateway's own scrape endpoint, run without a socket.</summary>
    public string ScrapeMetrics() => MetricsEndpoint.Scrape(_services);

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

/// <summary>The gateway's <c>GET /metrics</c>.</summary>
public static class MetricsEndpoint
{
    /// <summary>
    /// Runs the services' Prometheus scrape endpoint (the middleware <c>/metrics</c> maps to) on <c>GET /metrics</c>
    /// without a socket and returns the body, checking it is Prometheus text.
    /// </summary>
    public static string Scrape(IServiceProvider services) =>
        ScrapeAsync(new ApplicationBuilder(services).UseOpenTelemetryPrometheusScrapingEndpoint().Build()).GetAwaiter().GetResult();

    private static async Task<string> ScrapeAsync(RequestDelegate endpoint)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/metrics";
        using var body = new MemoryStream();
        context.Response.Body = body;
        await endpoint(context);
        if (context.Response.StatusCode != StatusCodes.Status200OK || context.Response.ContentType?.StartsWith("text/plain", StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException("/metrics answered " + context.Response.StatusCode + " " + context.Response.ContentType);
        }

        return System.Text.Encoding.UTF8.GetString(body.ToArray());
    }
}
