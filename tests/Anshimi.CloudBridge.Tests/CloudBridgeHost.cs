using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Mqtt;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Anshimi.CloudBridge.Tests;

/// <summary>The cloud bridge started in-process on Kestrel at 127.0.0.1 (free port), with a private data directory.</summary>
public sealed class CloudBridgeHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDirectory;

    private CloudBridgeHost(WebApplication app, string dataDirectory, bool ownsDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        BaseAddress = new Uri(app.Urls.First());
        Http = Client();
    }

    public static string DistrictsFile => Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson");

    public Uri BaseAddress { get; }

    /// <summary>Signed in as central staff (<see cref="TestOperators.Central"/>), who see every district.</summary>
    public HttpClient Http { get; }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    public GatewayIngress Ingress => Services.GetRequiredService<GatewayIngress>();

    public AlarmStore Store => Services.GetRequiredService<AlarmStore>();

    public RelayStatistics Statistics => Services.GetRequiredService<RelayStatistics>();

    public AlarmFeed Feed => Services.GetRequiredService<AlarmFeed>();

    /// <summary>
    /// Starts the bridge. <paramref name="mqtt"/> replaces the broker connection under the bridge's MQTT
    /// session; without it, the session connects over MQTTnet as configured in <paramref name="settings"/> ("Mqtt:Host", ...).
    /// </summary>
    public static async Task<CloudBridgeHost> StartAsync(
        FakeMqttClient? mqtt = null,
        IDictionary<string, string?>? settings = null,
        string? dataDirectory = null,
        Action<IServiceCollection>? configure = null)
    {
        bool owns = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("cloud-bridge-").FullName;
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        var configuration = new Dictionary<string, string?>
        {
            ["CloudBridge:DataDirectory"] = dataDirectory,
            ["CloudBridge:DistrictsGeoJson"] = DistrictsFile,
            ["CloudBridge:AckRetryInterval"] = "00:00:00.200",
            ["CloudBridge:AckRetryMaxInterval"] = "00:00:00.800",
            ["CloudBridge:PublishTimeout"] = "00:00:05",

            // Plain HTTP on loopback: the session cookie cannot be Secure-only here.
            ["Operators:CookieSecurePolicy"] = "SameAsRequest",
        };
        TestOperators.AddSeed(configuration);
        foreach (KeyValuePair<string, string?> setting in settings ?? new Dictionary<string, string?>())
        {
            configuration[setting.Key] = setting.Value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (mqtt is not null)
        {
            builder.Services.AddSingleton<IMqttTransportFactory>(mqtt);
        }

        configure?.Invoke(builder.Services);
        builder.AddCloudBridge();

        // After the service defaults, which add the console logger the service runs with.
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.MapCloudBridge();
        await app.StartAsync();

        // The relay connects on a background thread; events published before its first subscription are not queued for it.
        GatewayIngress ingress = app.Services.GetRequiredService<GatewayIngress>();
        await Eventually.HoldsAsync(() => ingress.IsSubscribed, "ingress subscribed", TimeSpan.FromSeconds(30));

        var host = new CloudBridgeHost(app, dataDirectory, owns);
        await SignInAsync(host.Http, TestOperators.Central);
        return host;
    }

    /// <summary>A client that keeps the session cookie and sends the console's request header, not yet signed in.</summary>
    public HttpClient Client()
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), UseCookies = true })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Add(Anshimi.CloudBridge.Operators.OperatorAuthentication.RequestHeader, "test");
        return client;
    }

    /// <summary>A new client signed in as <paramref name="user"/>.</summary>
    public async Task<HttpClient> SignedInAsync(TestOperator user)
    {
        HttpClient client = Client();
        await SignInAsync(client, user);
        return client;
    }

    public static async Task SignInAsync(HttpClient client, TestOperator user)
    {
        using HttpResponseMessage response = await client.PostAsync(
            new Uri("/api/session", UriKind.Relative),
            System.Net.Http.Json.JsonContent.Create(new { userName = user.UserName, password = user.Password }));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException("sign-in as " + user.UserName + " failed: " + (int)response.StatusCode + " " + await response.Content.ReadAsStringAsync());
        }
    }

    public Task InjectAsync(string topic, Protocol.Upstream.Envelope envelope) =>
        Ingress.HandleAsync(topic, Protocol.Upstream.EnvelopeSerializer.Serialize(envelope), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDirectory)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
