using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Anshimi.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace Anshimi.ServiceDefaults.Tests;

/// <summary>
/// The shared host defaults on a real Kestrel host: <c>/metrics</c> and <c>/healthz</c>, metrics of this host only,
/// and OTLP export that is on exactly when an endpoint is configured (checked against a local OTLP/HTTP receiver).
/// </summary>
public sealed class ServiceDefaultsTests
{
    [Fact]
    public async Task Metrics_answers_prometheus_text_naming_the_service_and_counting_its_own_meter()
    {
        string meterName = "Anshimi.Test." + Guid.NewGuid().ToString("N");
        await using WebApplication app = await StartAsync(meterName, "Anshimi.Test.Unused", []);
        Counter<long> alarms = app.Services.GetRequiredService<IMeterFactory>().Create(meterName).CreateCounter<long>("anshimi.test.alarms", "{alarm}", "Test alarms.");
        alarms.Add(3, new KeyValuePair<string, object?>("outcome", "stored"));

        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using HttpResponseMessage response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# HELP anshimi_test_alarms_total Test alarms.", text, StringComparison.Ordinal);
        Assert.Equal(3, Prometheus.Value(text, "anshimi_test_alarms_total{outcome=\"stored\"}", absent: -1));
        Assert.Contains("service_name=\"anshimi-test\"", text, StringComparison.Ordinal);
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task A_meter_of_the_same_name_made_by_another_host_in_the_process_is_not_counted()
    {
        string meterName = "Anshimi.Test." + Guid.NewGuid().ToString("N");
        await using WebApplication first = await StartAsync(meterName, "Anshimi.Test.Unused", []);
        await using WebApplication second = await StartAsync(meterName, "Anshimi.Test.Unused", []);
        first.Services.GetRequiredService<IMeterFactory>().Create(meterName).CreateCounter<long>("anshimi.test.frames").Add(1);
        second.Services.GetRequiredService<IMeterFactory>().Create(meterName).CreateCounter<long>("anshimi.test.frames").Add(2);

        using var http = new HttpClient();
        Assert.Equal(1, Prometheus.Value(await http.GetStringAsync(new Uri(new Uri(first.Urls.First()), "/metrics")), "anshimi_test_frames_total", absent: -1));
        Assert.Equal(2, Prometheus.Value(await http.GetStringAsync(new Uri(new Uri(second.Urls.First()), "/metrics")), "anshimi_test_frames_total", absent: -1));
    }

    [Theory]
    [InlineData(ServiceDefaultsExtensions.OtlpEndpointSetting, ServiceDefaultsExtensions.OtlpProtocolSetting)]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL")]
    public async Task With_an_otlp_endpoint_configured_spans_are_exported_to_it(string endpointKey, string protocolKey)
    {
        await using OtlpReceiver receiver = await OtlpReceiver.StartAsync();
        string sourceName = "Anshimi.Test." + Guid.NewGuid().ToString("N");
        await using WebApplication app = await StartAsync("Anshimi.Test.Unused", sourceName, new()
        {
            [endpointKey] = receiver.Endpoint.ToString(),
            [protocolKey] = "http/protobuf",
        });
        using var source = new ActivitySource(sourceName);

        using (source.StartActivity("alarm.receive"))
        {
        }

        Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        await Eventually(() => receiver.Requests.Contains("/v1/traces"), "a trace export reached the receiver");
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_nothing_of_the_otlp_exporter_is_registered()
    {
        await using WebApplication plain = await StartAsync("Anshimi.Test.Unused", "Anshimi.Test.Unused", []);
        await using OtlpReceiver receiver = await OtlpReceiver.StartAsync();
        await using WebApplication exporting = await StartAsync("Anshimi.Test.Unused", "Anshimi.Test.Unused", new()
        {
            [ServiceDefaultsExtensions.OtlpEndpointSetting] = receiver.Endpoint.ToString(),
        });

        Assert.Null(ServiceDefaultsExtensions.OtlpEndpoint(plain.Configuration));
        Assert.Empty(OtlpServices(plain.Services));

        // The same probe sees the exporter when it is configured, so an empty answer above means something.
        Assert.Equal(receiver.Endpoint, ServiceDefaultsExtensions.OtlpEndpoint(exporting.Configuration));
        Assert.NotEmpty(OtlpServices(exporting.Services));
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("ftp://collector:4317")]
    [InlineData("/relative")]
    public void A_malformed_otlp_endpoint_is_a_configuration_error_naming_the_setting(string value)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [ServiceDefaultsExtensions.OtlpEndpointSetting] = value })
            .Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddServiceTelemetry(configuration, Identity("a", "b")));
        Assert.Contains(ServiceDefaultsExtensions.OtlpEndpointSetting, error.Message, StringComparison.Ordinal);
    }

    private static ServiceIdentity Identity(string meter, string source) =>
        new("anshimi-test", typeof(ServiceDefaultsTests).Assembly, [meter], [source]);

    /// <summary>What the OTLP exporter adds to a service collection; the host keeps its collection as a service.</summary>
    private static string[] OtlpServices(IServiceProvider services) =>
        [.. services.GetRequiredService<IServiceCollection>()
            .Select(d => d.ServiceType.FullName + " " + d.ImplementationType?.FullName)
            .Where(name => name.Contains("Otlp", StringComparison.Ordinal))];

    private static async Task<WebApplication> StartAsync(string meter, string source, Dictionary<string, string?> settings)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(builder.Services);
        builder.AddServiceDefaults(Identity(meter, source));
        WebApplication app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return app;
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting: " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>An OTLP/HTTP collector stand-in: records the path of every POST and answers 200.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private OtlpReceiver(WebApplication app, ConcurrentBag<string> requests)
        {
            _app = app;
            Requests = requests;
            Endpoint = new Uri(app.Urls.First());
        }

        public Uri Endpoint { get; }

        public ConcurrentBag<string> Requests { get; }

        public static async Task<OtlpReceiver> StartAsync()
        {
            WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            WebApplication app = builder.Build();
            var requests = new ConcurrentBag<string>();
            app.MapPost("/v1/{signal}", (HttpContext context) =>
            {
                requests.Add(context.Request.Path.Value ?? "");
                return Results.Ok();
            });
            await app.StartAsync();
            return new OtlpReceiver(app, requests);
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
