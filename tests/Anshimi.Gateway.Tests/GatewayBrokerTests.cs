using System.Globalization;
using System.Net;
using System.Text.Json;
using Anshimi.Gateway.Hosting;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Anshimi.Gateway.Tests;

[Trait("Category", "Integration")]
public sealed class GatewayBrokerTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private BrokerFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await BrokerFixture.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _fixture.DisposeAsync();
    }

    [Fact]
    public async Task Gateway_host_acks_a_real_device_frame_forwards_it_and_counts_rejects()
    {
        int port = FreePort.Next();
        await using WebApplication app = BuildGateway(_fixture.GatewayEnvironment(port));
        await app.StartAsync();
        var baseUri = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/");
        await WaitHealthyAsync(baseUri);

        TestDevice bell = _fixture.Device;
        await using RunningProcess downlink = await _fixture.SubscribeAsync("probe", bell.DownlinkTopic, hex: true);
        await using RunningProcess events = await _fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);

        await _fixture.PublishAsDeviceAsync(bell.Alarm(31));

        string ackHex = await downlink.WaitForOutputLineAsync(IsHex, Patience);
        Frame ack = Assert.IsType<Frame>(bell.ReadDownlink(Convert.FromHexString(ackHex)));
        Assert.Equal(AckStage.Received, ack.AckStage);
        Assert.Equal(31u, ack.AckedCounter);
        string alarmJson = await events.WaitForOutputLineAsync(line => line.Contains("\"kind\":\"alarm\"", StringComparison.Ordinal), Patience);
        Assert.Contains("\"key\":\"0000A1B2:31\"", alarmJson, StringComparison.Ordinal);

        // Hostile input from the same (authenticated) device account.
        await _fixture.PublishAsDeviceAsync("garbage"u8.ToArray());
        await _fixture.PublishAsDeviceAsync(new TestDevice(bell.Id, 200).Alarm(32));
        await _fixture.PublishAsDeviceAsync(bell.Alarm(31));
        await WaitForAsync(async () =>
        {
            string metrics = await _http.GetStringAsync(new Uri(baseUri, "metrics"));
            return Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"bad_tag\"}") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"unknown_version\"}") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_alarms_duplicate_total") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_alarms_accepted_total") == 1;
        });

        // The cloud's receipt empties the outbox.
        await _fixture.PublishAsProbeAsync(Topics.GatewayCommands(BrokerFixture.GatewayId), EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:31")));
        await WaitForAsync(async () => (await HealthAsync(baseUri)).GetProperty("outboxDepth").GetInt32() == 0);

        JsonElement health = await HealthAsync(baseUri);
        Assert.Equal("connected", health.GetProperty("mqtt").GetProperty("state").GetString());
        Assert.Equal(1, health.GetProperty("devices").GetProperty("registered").GetInt32());
        Assert.Equal(1, health.GetProperty("devices").GetProperty("seen").GetInt32());
        await app.StopAsync();
    }

    [Fact]
    public async Task Gateway_process_killed_after_acking_forwards_the_alarm_when_started_again()
    {
        int port = FreePort.Next();
        var baseUri = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/");
        await using var gateway = new ServiceProcess(
            "gateway",
            RepoPaths.ProjectOutput("gateway/Anshimi.Gateway", "Anshimi.Gateway.dll"),
            _fixture.GatewayEnvironment(port),
            Path.Combine(_fixture.Directory, "gateway.log"));
        gateway.Start();
        await WaitHealthyAsync(baseUri, gateway);

        TestDevice bell = _fixture.Device;
        await using (RunningProcess downlink = await _fixture.SubscribeAsync("probe", bell.DownlinkTopic, hex: true))
        {
            await _fixture.PublishAsDeviceAsync(bell.Alarm(7));
            await downlink.WaitForOutputLineAsync(IsHex, Patience);
        }

        gateway.Kill();
        await using RunningProcess status = await _fixture.SubscribeAsync("probe", Topics.GatewayStatus(BrokerFixture.GatewayId), hex: false);
        await status.WaitForOutputLineAsync(line => line == "offline", Patience);
        await using RunningProcess events = await _fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);

        gateway.Start();
        await WaitHealthyAsync(baseUri, gateway);

        // No receipt was ever given, so the restarted gateway sends the alarm again.
        string alarmJson = await events.WaitForOutputLineAsync(line => line.Contains("\"key\":\"0000A1B2:7\"", StringComparison.Ordinal), Patience);
        Assert.Contains("\"kind\":\"alarm\"", alarmJson, StringComparison.Ordinal);
        await status.WaitForOutputLineAsync(line => line == "online", Patience);
        JsonElement health = await HealthAsync(baseUri);
        Assert.Equal(1, health.GetProperty("outboxDepth").GetInt32());
        Assert.DoesNotContain(Convert.ToHexString(bell.Key), File.ReadAllText(gateway.LogPath), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The gateway host as Program.cs builds it, configured like a deployment's environment.</summary>
    internal static WebApplication BuildGateway(Dictionary<string, string> environment)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(environment.Select(pair => new KeyValuePair<string, string?>(pair.Key.Replace("__", ":", StringComparison.Ordinal), pair.Value)));
        builder.WebHost.UseUrls(environment["Urls"]);
        builder.AddGatewayLogging();
        builder.Services.AddGateway(builder.Configuration);
        WebApplication app = builder.Build();
        app.MapGatewayEndpoints();
        return app;
    }

    private static bool IsHex(string line) => line.Length >= 2 * FrameCodec.MinFrameLength && line.All(char.IsAsciiHexDigit);

    private async Task<JsonElement> HealthAsync(Uri baseUri)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri(baseUri, "healthz"));
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private async Task WaitHealthyAsync(Uri baseUri, ServiceProcess? process = null)
    {
        await WaitForAsync(async () =>
        {
            if (process is { IsRunning: false })
            {
                throw new InvalidOperationException("gateway exited:\n" + process.ReadLog());
            }

            try
            {
                using HttpResponseMessage response = await _http.GetAsync(new Uri(baseUri, "healthz"));
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met within " + Patience);
            }

            await Task.Delay(100);
        }
    }
}
