using System.Globalization;
using System.Net;
using System.Text;
using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Tests.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;

namespace Anshimi.Gateway.Tests.Lights;

/// <summary>
/// The gateway host on a real broker with its radio in the cross-process airspace (a UDP hub, as the demo runs it):
/// a light command published by a peer on the commands topic comes back as light outcomes on the events topic.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LightCommandBrokerTests : GatewayOnBrokerTests
{
    [Fact]
    public async Task A_light_command_from_the_cloud_comes_back_as_one_outcome_per_light()
    {
        TestDevice[] lights = [.. Enumerable.Range(0, 3).Select(i => new TestDevice(0x00001101u + (uint)i, (byte)(61 + i), LightFanout.LightProfile))];
        new FleetFile(BrokerFixture.GatewayId, [Fixture.Device.Record, .. lights.Select(l => l.Record)]).Save(Fixture.FleetPath);

        await using AirspaceHub hub = AirspaceHub.Start(new IPEndPoint(IPAddress.Loopback, 0), TimeProvider.System);
        BleAddress gatewayAddress = BleGateway.GatewayAddress;

        // lights[1] misses the first five broadcasts of its command; lights[2] has no controller on its pole.
        hub.AddRule(AirspaceRule.DropFirst(5, t => t.From == gatewayAddress && t.To == BleGateway.AddressOf(lights[1])));
        await using var radio0 = new UdpAirspaceTransport(hub.EndPoint, BleGateway.AddressOf(lights[0]), TimeProvider.System);
        await using var radio1 = new UdpAirspaceTransport(hub.EndPoint, BleGateway.AddressOf(lights[1]), TimeProvider.System);
        var first = new SimulatedStreetlight(radio0, lights[0], TimeProvider.System);
        var late = new SimulatedStreetlight(radio1, lights[1], TimeProvider.System);

        int port = FreePort.Next();
        Dictionary<string, string> environment = Fixture.GatewayEnvironment(port);
        environment["Gateway__Ble__Transport"] = "Airspace";
        environment["Gateway__Ble__AirspaceEndpoint"] = hub.EndPoint.ToString();
        environment["Gateway__Ble__AirspaceAddress"] = gatewayAddress.ToString();
        environment["Gateway__Ble__Dwell"] = "00:00:00.200";
        environment["Gateway__Ble__AdvertisingInterval"] = "00:00:00.050";
        await using WebApplication gateway = BuildGateway(environment);
        await gateway.StartAsync();
        var baseUri = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/");
        await WaitForAsync(async () => await BeaconsHeardAsync(baseUri) > 0);

        await using RunningProcess events = await Fixture.SubscribeAsync("probe", Topics.GatewayEvents(BrokerFixture.GatewayId), hex: false);
        string[] requested = [.. lights.Select(l => DeviceIdText.Format(l.Id)), "0000FFFF"];
        var command = new LightCommandEnvelope("escort-77", LightModeName.Escort, requested, 120, DateTimeOffset.UtcNow.AddSeconds(12));
        await Fixture.PublishAsProbeAsync(Topics.GatewayCommands(BrokerFixture.GatewayId), EnvelopeSerializer.Serialize(command));

        var outcomes = new Dictionary<string, string>(StringComparer.Ordinal);
        while (outcomes.Count < requested.Length)
        {
            string line = await events.WaitForOutputLineAsync(l => l.Contains("\"kind\":\"light-outcome\"", StringComparison.Ordinal) && !Seen(outcomes, l), Patience);
            Assert.True(EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(line), out Envelope? envelope, out string error), error);
            var outcome = Assert.IsType<LightOutcomeEnvelope>(envelope);
            Assert.Equal("escort-77", outcome.RequestId);
            Assert.Equal(BrokerFixture.GatewayId, outcome.GatewayId);
            outcomes.Add(outcome.LightId, outcome.Outcome);
        }

        Assert.Equal(LightOutcomeName.Confirmed, outcomes[requested[0]]);
        Assert.Equal(LightOutcomeName.Confirmed, outcomes[requested[1]]);
        Assert.Equal(LightOutcomeName.Expired, outcomes[requested[2]]);
        Assert.Equal(LightOutcomeName.UnknownLight, outcomes["0000FFFF"]);
        Assert.Equal(LightMode.Escort, first.Mode);
        Assert.Equal(LightMode.Escort, late.Mode);
        Assert.True(hub.Dropped >= 5);
        await gateway.StopAsync();
    }

    private static bool Seen(Dictionary<string, string> outcomes, string line) =>
        outcomes.Keys.Any(id => line.Contains("\"lightId\":\"" + id + "\"", StringComparison.Ordinal));

    private async Task<long> BeaconsHeardAsync(Uri baseUri)
    {
        try
        {
            string metrics = await Http.GetStringAsync(new Uri(baseUri, "metrics"));
            return Prometheus.Value(metrics, "anshimi_gateway_ble_frames_total{result=\"beacon\"}");
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}
