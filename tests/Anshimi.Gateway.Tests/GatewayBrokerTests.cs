using System.Globalization;
using System.Net;
using System.Text.Json;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;

namespace Anshimi.Gateway.Tests;

[Trait("Category", "Integration")]
public sealed class GatewayBrokerTests : GatewayOnBrokerTests
{
    [Fact]
    public async Task Gateway_host_acks_a_real_device_frame_forwards_it_and_counts_rejects()
    {
        int port = FreePort.Next();
        await using WebApplication app = BuildGateway(Fixture.GatewayEnvironment(port));
        await app.StartAsync();
        var baseUri = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/");
        await WaitHealthyAsync(baseUri);

        TestDevice bell = Fixture.Device;
        await using RunningProcess downlink = await Fixture.SubscribeAsync("probe", bell.DownlinkTopic, hex: true);
        await using RunningProcess events = await Fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);

        await Fixture.PublishAsDeviceAsync(bell.Alarm(31));

        string ackHex = await downlink.WaitForOutputLineAsync(IsHex, Patience);
        Frame ack = Assert.IsType<Frame>(bell.ReadDownlink(Convert.FromHexString(ackHex)));
        Assert.Equal(AckStage.Received, ack.AckStage);
        Assert.Equal(31u, ack.AckedCounter);
        string alarmJson = await events.WaitForOutputLineAsync(line => line.Contains("\"kind\":\"alarm\"", StringComparison.Ordinal), Patience);
        Assert.Contains("\"key\":\"0000A1B2:31\"", alarmJson, StringComparison.Ordinal);

        // Hostile input from the same (authenticated) device account.
        await Fixture.PublishAsDeviceAsync("garbage"u8.ToArray());
        await Fixture.PublishAsDeviceAsync(new TestDevice(bell.Id, 200).Alarm(32));
        await Fixture.PublishAsDeviceAsync(bell.Alarm(31));
        await WaitForAsync(async () =>
        {
            string metrics = await Http.GetStringAsync(new Uri(baseUri, "metrics"));
            return Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"bad_tag\"}") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"unknown_version\"}") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_alarms_received_total{outcome=\"duplicate\"}") == 1 &&
                Prometheus.Value(metrics, "anshimi_gateway_alarms_received_total{outcome=\"stored\"}") == 1;
        });

        // The cloud's receipt empties the outbox.
        await Fixture.PublishAsProbeAsync(Topics.GatewayCommands(BrokerFixture.GatewayId), EnvelopeSerializer.Serialize(new AlarmReceiptEnvelope("0000A1B2:31")));
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
            Fixture.GatewayEnvironment(port),
            Path.Combine(Fixture.Directory, "gateway.log"));
        gateway.Start();
        await WaitHealthyAsync(baseUri, gateway);

        TestDevice bell = Fixture.Device;
        await using (RunningProcess downlink = await Fixture.SubscribeAsync("probe", bell.DownlinkTopic, hex: true))
        {
            await Fixture.PublishAsDeviceAsync(bell.Alarm(7));
            await downlink.WaitForOutputLineAsync(IsHex, Patience);
        }

        gateway.Kill();
        await using RunningProcess status = await Fixture.SubscribeAsync("probe", Topics.GatewayStatus(BrokerFixture.GatewayId), hex: false);
        await status.WaitForOutputLineAsync(line => line == "offline", Patience);
        await using RunningProcess events = await Fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);

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

    private static bool IsHex(string line) => line.Length >= 2 * FrameCodec.MinFrameLength && line.All(char.IsAsciiHexDigit);

    private async Task<JsonElement> HealthAsync(Uri baseUri)
    {
        using HttpResponseMessage response = await Http.GetAsync(new Uri(baseUri, "healthz"));
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
                using HttpResponseMessage response = await Http.GetAsync(new Uri(baseUri, "healthz"));
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
    }
}
