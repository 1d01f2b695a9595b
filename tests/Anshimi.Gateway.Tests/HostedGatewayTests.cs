using Anshimi.ServiceDefaults;
using Anshimi.Gateway.Broker;
using Anshimi.Gateway.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Tests;

/// <summary>The hosted services together, over the in-memory client: routing, ordering, connect and shutdown.</summary>
public sealed class HostedGatewayTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anshimi-gateway-tests", Guid.NewGuid().ToString("N"));
    private readonly FakeMqttClient _mqtt = new();
    private readonly TestDevice _bell = new(0x0000A1B2, 1);
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        string fleet = Path.Combine(_directory, "fleet.json");
        new FleetFile("gw-hosted", [_bell.Record]).Save(fleet);
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:DataDirectory"] = Path.Combine(_directory, "data"),
            ["Gateway:RegistrySeedFile"] = fleet,
        });
        builder.Services.AddSingleton<IMqttTransportFactory>(_mqtt);
        builder.AddServiceDefaults(Diagnostics.GatewayTelemetry.Service);
        builder.Services.AddGateway(builder.Configuration);
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Gateway_id_comes_from_the_seed_file_when_not_configured()
    {
        Assert.Equal("gw-hosted", _host.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.Id);
        MqttClientOptions mqtt = _host.Services.GetRequiredService<IOptions<MqttClientOptions>>().Value;
        Assert.Equal("anshimi/gateway-gw-hosted", mqtt.ClientId);
        Assert.False(mqtt.CleanSession);
        Assert.Equal(Topics.GatewayStatus("gw-hosted"), mqtt.LastWill!.Topic);
        Assert.True(mqtt.LastWill.Retain);
        await WaitForAsync(() => _mqtt.Subscriptions.Contains(Topics.GatewayCommands("gw-hosted")));
    }

    [Fact]
    public async Task Connect_subscribes_announces_online_and_delivered_frames_are_acked()
    {
        await WaitForAsync(() => _mqtt.PublishedTo(Topics.GatewayStatus("gw-hosted")).Count > 0);
        Assert.Contains(Topics.AllDeviceUplinks, _mqtt.Subscriptions);
        PublishedMessage online = _mqtt.PublishedTo(Topics.GatewayStatus("gw-hosted"))[0];
        Assert.Equal("online"u8.ToArray(), online.Payload);
        Assert.True(online.Retain);

        _mqtt.Deliver(_bell.UplinkTopic, [1, 2, 3]);
        _mqtt.Deliver(_bell.UplinkTopic, _bell.Alarm(1));
        _mqtt.Deliver(_bell.UplinkTopic, _bell.Alarm(2));
        await WaitForAsync(() => _mqtt.PublishedTo(_bell.DownlinkTopic).Count == 2);
        Assert.Equal([1u, 2u], _mqtt.PublishedTo(_bell.DownlinkTopic).Select(m => _bell.ReadDownlink(m.Payload)!.AckedCounter));

        // The outbox wakes on the commit and forwards both, oldest first.
        await WaitForAsync(() => _mqtt.PublishedTo(Topics.GatewayEvents("gw-hosted")).Count(m => IsAlarm(m)) >= 2);

        _mqtt.Deliver(Topics.GatewayCommands("gw-hosted"), EnvelopeSerializer.Serialize(new OperatorAckEnvelope("0000A1B2:2", "acknowledged", "op", DateTimeOffset.UtcNow)));
        await WaitForAsync(() => _mqtt.PublishedTo(_bell.DownlinkTopic).Count == 3);
        Assert.Equal(AckStage.OperatorAcknowledged, _bell.ReadDownlink(_mqtt.PublishedTo(_bell.DownlinkTopic)[2].Payload)!.AckStage);
    }

    [Fact]
    public async Task Stopping_announces_offline_and_disconnects()
    {
        await WaitForAsync(() => _mqtt.PublishedTo(Topics.GatewayStatus("gw-hosted")).Count > 0);

        await _host.StopAsync();

        Assert.Equal("offline"u8.ToArray(), _mqtt.PublishedTo(Topics.GatewayStatus("gw-hosted"))[^1].Payload);
        Assert.Equal(MqttConnectionState.Closed, _mqtt.State);
    }

    [Fact]
    public void Full_uplink_queue_drops_and_counts_but_never_drops_cloud_commands()
    {
        var options = Options.Create(new GatewayOptions { Id = "gw-q", UplinkQueueCapacity = 1 });
        var inbox = new GatewayInbox(options, _host.Services.GetRequiredService<Diagnostics.GatewayMetrics>());

        for (int i = 0; i < 3; i++)
        {
            inbox.Post(new MqttMessage(_bell.UplinkTopic, [], MqttQos.AtLeastOnce, false));
            inbox.Post(new MqttMessage(Topics.GatewayCommands("gw-q"), [], MqttQos.AtLeastOnce, false));
        }

        Assert.Equal(1, Drain(inbox.Uplinks.Reader));
        Assert.Equal(3, Drain(inbox.Commands.Reader));
        string metrics = MetricsEndpoint.Scrape(_host.Services);
        Assert.Equal(2, Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"queue_full\"}"));
    }

    private static int Drain(System.Threading.Channels.ChannelReader<MqttMessage> reader)
    {
        int count = 0;
        while (reader.TryRead(out _))
        {
            count++;
        }

        return count;
    }

    private static bool IsAlarm(PublishedMessage message) =>
        EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out _) && envelope is AlarmEnvelope;

    private static async Task WaitForAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met");
            }

            await Task.Delay(20);
        }
    }
}
