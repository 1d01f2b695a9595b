using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Hal;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// A gateway box linked by <c>Cloud:Url</c> to all three nodes of the city's endpoint cluster (<see cref="CloudEndpointCluster"/>:
/// RabbitMQ on the configuration and users the cloud bridge's commands write) and a cloud-bridge instance with its own
/// identity on the same cluster, both as processes: a bell's alarm reaches the store and the operator's ack the bell,
/// before and after the node both were connected to is SIGKILLed; a revoked gateway is cut off at once.
/// </summary>
[Trait("Category", "HighAvailability")]
public sealed class ClusterSitesTests(ITestOutputHelper output)
{
    private const string GatewayId = "gw-cluster-a";

    [Fact]
    public async Task A_bells_alarm_and_its_ack_cross_the_cluster_before_and_after_a_node_is_killed_and_a_revoked_box_is_cut_off()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        CancellationToken ct = cts.Token;
        await using CloudEndpointCluster endpoint = await CloudEndpointCluster.StartAsync(["a"], ct);
        string credentials = await endpoint.IssueAsync(GatewayId, ct);
        var options = new AnshimiSystemOptions { GatewayId = GatewayId, DeviceCount = 2, Profiles = ["home"] };
        foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials, TimeSpan.FromSeconds(60)))
        {
            options.GatewayEnvironment[key] = value;
        }

        options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";
        foreach ((string key, string value) in endpoint.BridgeEnvironment("a", firstNode: 0))
        {
            options.CloudEnvironment[key] = value;
        }

        await using AnshimiSystem system = await AnshimiSystem.StartAsync(options, ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);
            await Fleet.Until(async () => await CloudStateAsync(system, ct) == "connected", TimeSpan.FromSeconds(60), "the gateway's cloud link connected", ct);
            await PressAndAcknowledgeAsync(system, fleet.Devices[0], ct);

            // Both list node 1 first, so both sit on it: it dies, and they carry on over the others.
            await endpoint.Cluster.KillNodeAsync(0);
            await PressAndAcknowledgeAsync(system, fleet.Devices[1], ct);
            Assert.False(endpoint.Cluster.IsRunning(0));
            Assert.Equal(2, (await system.CloudAlarmsAsync(ct)).Length);

            // Revoked: its user is deleted and its connection closed; it stays out.
            await endpoint.RevokeAsync(GatewayId, ct);
            await Fleet.Until(async () => await CloudStateAsync(system, ct) != "connected", TimeSpan.FromSeconds(30), "the revoked gateway's link cut", ct);
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            Assert.NotEqual("connected", await CloudStateAsync(system, ct));
        }
        finally
        {
            output.WriteLine(log.ToString());
            output.WriteLine(system.Gateway.ReadLog());
            output.WriteLine(system.Cloud.ReadLog());
        }
    }

    private static async Task PressAndAcknowledgeAsync(AnshimiSystem system, SimulatedDevice bell, CancellationToken ct)
    {
        bell.Button.Press(400);
        JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, bell.Record.DeviceId, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(GatewayId, alarm.GetProperty("gatewayId").GetString());
        using HttpResponseMessage ack = await system.Http.PostAsync(new Uri(system.CloudUri, "api/alarms/" + alarm.GetProperty("key").GetString() + "/ack"), null, ct);
        Assert.True(ack.IsSuccessStatusCode, await ack.Content.ReadAsStringAsync(ct));
        await Fleet.Until(() => bell.Bell.LedState == LedState.Acknowledged, TimeSpan.FromSeconds(60), "LED of " + bell.Record.DeviceId + ": acknowledged by operator", ct);
    }

    private static async Task<string?> CloudStateAsync(AnshimiSystem system, CancellationToken ct)
    {
        using HttpResponseMessage response = await system.Http.GetAsync(new Uri(system.GatewayUri, "healthz"), ct);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("cloud").GetProperty("state").GetString();
    }
}
