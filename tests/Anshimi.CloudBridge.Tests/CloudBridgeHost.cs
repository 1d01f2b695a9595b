using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Bindings;
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

    public DeviceBindingStore Bindings => Services.GetRequiredService<DeviceBindingStore>();

    public GatewayRefusals Refusals => Services.GetRequiredService<GatewayRefusals>();

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

    /// <summary>
    /// Hands <paramref name="envelope"/> to the ingress as if it came on <paramref name="topic"/>. A device the envelope is
    /// about that is bound to no gateway is first bound where the envelope places it, with the <c>device-bound</c> its
    /// gateway would send (through the ingress too).
    /// </summary>
    public async Task InjectAsync(string topic, Protocol.Upstream.Envelope envelope)
    {
        await BindAsync(topic, envelope);
        await Ingress.HandleAsync(topic, Protocol.Upstream.EnvelopeSerializer.Serialize(envelope), CancellationToken.None);
    }

    /// <summary>Binds the device <paramref name="envelope"/> is about, unless some gateway already has it (see <see cref="InjectAsync"/>).</summary>
    public async Task BindAsync(string topic, Protocol.Upstream.Envelope envelope)
    {
        string? gatewayId = Protocol.Topics.GatewayIdOf(topic);
        Protocol.Upstream.DeviceBoundEnvelope? bound = envelope switch
        {
            Protocol.Upstream.AlarmEnvelope alarm => TestAlarms.BindingOf(alarm),
            Protocol.Upstream.DeviceStatusEnvelope status when !Protocol.DeviceIdText.IsStreetlight(Id(status.DeviceId)) =>
                new(status.GatewayId, status.DeviceId, status.Profile, status.Site, Convert.ToHexString(TestAlarms.KeyOf(Id(status.DeviceId)))),
            Protocol.Upstream.TroubleEnvelope trouble when Id(trouble.DeviceId) != 0 && !Protocol.DeviceIdText.IsStreetlight(Id(trouble.DeviceId)) =>
                new(trouble.GatewayId, trouble.DeviceId, trouble.Profile, trouble.Site, Convert.ToHexString(TestAlarms.KeyOf(Id(trouble.DeviceId)))),
            Protocol.Upstream.SnapshotEnvelope snapshot => TestAlarms.Bound(Id(snapshot.DeviceId), gatewayId: snapshot.GatewayId, profile: "doorbell"),
            _ => null,
        };
        if (bound is null || gatewayId is null || bound.Site is null || !Protocol.DeviceIdText.TryParse(bound.DeviceId, out uint deviceId) ||
            Protocol.DeviceIdText.IsCloudReserved(deviceId) || await Bindings.FindAsync(deviceId, CancellationToken.None) is not null)
        {
            return;
        }

        await Ingress.HandleAsync(Protocol.Topics.GatewayEvents(gatewayId), Protocol.Upstream.EnvelopeSerializer.Serialize(bound with { GatewayId = gatewayId }), CancellationToken.None);
    }

    private static uint Id(string? deviceId) => deviceId is not null && Protocol.DeviceIdText.TryParse(deviceId, out uint id) ? id : 0;

    /// <summary>
    /// Stops the bridge as a killed process looks to the database and the broker: every hosted service is stopped with
    /// no time granted, so nothing is handed over (claims and the instance lease stay as they were) and nothing more is sent.
    /// </summary>
    public async Task CrashAsync()
    {
        using var noTime = new CancellationTokenSource();
        await noTime.CancelAsync();
        await _app.StopAsync(noTime.Token);
    }

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
