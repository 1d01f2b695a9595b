using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Hosting;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.ServiceDefaults;
using Anshimi.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Anshimi.Gateway.Tests.Snapshots;

/// <summary>The gateway on a real Mosquitto: a doorbell's chunks from <c>mosquitto_pub</c>, the stage-4 ack and the cloud hand-off.</summary>
[Trait("Category", "Integration")]
public sealed class SnapshotBrokerTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private BrokerFixture _fixture = null!;
    private IHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _fixture = await BrokerFixture.StartAsync();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(_fixture.GatewayEnvironment(FreePort.Next())
            .Select(pair => new KeyValuePair<string, string?>(pair.Key.Replace("__", ":", StringComparison.Ordinal), pair.Value)));
        builder.AddServiceDefaults(GatewayTelemetry.Service);
        builder.Services.AddGateway(builder.Configuration);
        _gateway = builder.Build();
        await _gateway.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _gateway.StopAsync();
        _gateway.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await _fixture.DisposeAsync();
    }

    [Fact]
    public async Task A_snapshot_sent_chunk_by_chunk_through_the_broker_is_acked_with_stage_four_and_handed_to_the_cloud_until_receipted()
    {
        TestDevice doorbell = _fixture.Device;
        await using RunningProcess downlink = await _fixture.SubscribeAsync("probe", doorbell.DownlinkTopic, hex: true);
        await using RunningProcess events = await _fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);
        byte[] image = SnapshotChunks.Image(620, seed: 9);

        await _fixture.PublishAsDeviceAsync(doorbell.Alarm(50, SnapshotChunks.Loitering, 3));
        List<byte[]> chunks = SnapshotChunks.For(doorbell, 50, 51, image);

        // Chunk 2 is sent twice, as after a reconnect: one image, one ack.
        foreach (byte[] chunk in chunks.Concat([chunks[2]]).Reverse())
        {
            await _fixture.PublishAsDeviceAsync(chunk);
        }

        Frame? stored = null;
        await downlink.WaitForOutputLineAsync(line => (stored = Ack(doorbell, line)) is { AckStage: AckStage.SnapshotStored }, Patience);
        Assert.Equal(50u, stored!.AckedCounter);

        string json = await events.WaitForOutputLineAsync(line => line.Contains("\"kind\":\"snapshot\"", StringComparison.Ordinal), Patience);
        Assert.True(EnvelopeSerializer.TryParse(System.Text.Encoding.UTF8.GetBytes(json), out Envelope? envelope, out string error), error);
        SnapshotEnvelope snapshot = Assert.IsType<SnapshotEnvelope>(envelope);
        Assert.Equal("0000A1B2:50", snapshot.Key);
        Assert.Equal(image, snapshot.Data);

        await _fixture.PublishAsProbeAsync(Topics.GatewayCommands(BrokerFixture.GatewayId), EnvelopeSerializer.Serialize(new SnapshotReceiptEnvelope(snapshot.Key)));
        DateTime deadline = DateTime.UtcNow + Patience;
        while (Prometheus.Value(MetricsEndpoint.Scrape(_gateway.Services), "anshimi_gateway_snapshot_receipts_total") != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "no snapshot receipt applied");
            await Task.Delay(100);
        }

        Assert.Equal(0, Prometheus.Value(MetricsEndpoint.Scrape(_gateway.Services), "anshimi_gateway_snapshot_outbox_depth"));
        Assert.Equal(1, Prometheus.Value(MetricsEndpoint.Scrape(_gateway.Services), "anshimi_gateway_snapshot_completed_total"));
    }

    private static Frame? Ack(TestDevice device, string hexLine)
    {
        try
        {
            return device.ReadDownlink(Convert.FromHexString(hexLine.Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
