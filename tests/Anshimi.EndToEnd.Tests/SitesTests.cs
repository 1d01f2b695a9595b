using System.Net;
using System.Text;
using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware;
using Anshimi.Firmware.Hal;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Anshimi.EndToEnd.Tests;

/// <summary>
/// A gateway box with its own broker linked to the cloud's MQTT endpoint over TLS with its own certificate: the
/// real Mosquitto endpoint from <c>cloud-bridge/endpoint/</c>, certificates from the cloud bridge's commands, the
/// gateway and the cloud bridge as processes. The outage is made by stopping the endpoint's broker (SIGTERM) and
/// starting it again on the same port and data.
/// </summary>
[Trait("Category", "Sites")]
public sealed class SitesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_box_bells_alarm_crosses_the_TLS_link_to_the_cloud_and_the_operators_ack_comes_back()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct);
        await using AnshimiSystem system = await StartSiteAsync(endpoint, "gw-site-a", 3, TimeSpan.FromSeconds(60), ct);
        await using RunningProcess boxListener = ProcessRunner.Start("stdbuf", ["-oL", "mosquitto_sub", .. system.Broker.CliArguments("cloud"), "-t", "anshimi/v1/gw/#", "-v"]);
        using var log = new StringWriter();
        try
        {
            JsonElement health = await GatewayHealthAsync(system, ct);
            Assert.Equal("reachable", health.GetProperty("cloud").GetProperty("link").GetString());
            Assert.Equal("connected", health.GetProperty("cloud").GetProperty("state").GetString());

            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);
            SimulatedDevice bell = fleet.Devices[0];
            bell.Button.Press(400);

            JsonElement alarm = await Fleet.CloudAlarmOfAsync(system, bell.Record.DeviceId, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(bell.Record.DistrictCode, alarm.GetProperty("district").GetProperty("code").GetString());
            Assert.Equal("gw-site-a", alarm.GetProperty("gatewayId").GetString());
            using HttpResponseMessage ack = await system.Http.PostAsync(new Uri(system.CloudUri, "api/alarms/" + alarm.GetProperty("key").GetString() + "/ack"), null, ct);
            Assert.True(ack.IsSuccessStatusCode, await ack.Content.ReadAsStringAsync(ct));
            await Fleet.Until(() => bell.Bell.LedState == LedState.Acknowledged, TimeSpan.FromSeconds(30), "LED: acknowledged by operator", ct);

            // Upstream traffic went over the link only: the box's own broker never carried a gateway topic.
            Assert.Equal("", boxListener.StandardOutput);
        }
        finally
        {
            Dump(system, endpoint, log);
        }
    }

    [Fact]
    public async Task A_box_cut_off_from_the_cloud_says_so_keeps_its_alarms_and_delivers_each_once_when_the_link_heals()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        CancellationToken ct = cts.Token;
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct);
        await using AnshimiSystem system = await StartSiteAsync(endpoint, "gw-site-b", 4, TimeSpan.FromSeconds(3), ct);
        using var log = new StringWriter();
        try
        {
            await using SimulatedFleet fleet = await Fleet.StartAsync(system, log, ct);

            await endpoint.Broker.StopAsync(ct);
            await Fleet.Until(
                async () => (await GatewayHealthAsync(system, ct)).GetProperty("cloud").GetProperty("link").GetString() == "unreachable",
                TimeSpan.FromSeconds(30), "/healthz: cloud unreachable", ct);
            using (HttpResponseMessage degraded = await system.Http.GetAsync(new Uri(system.GatewayUri, "healthz"), ct))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, degraded.StatusCode);
            }

            await Fleet.Until(() => system.Gateway.ReadLog().Contains("Status LED blinking", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "status LED blinking", ct);

            // Every bell raises an alarm while the box is cut off; the box stores and acks each one itself.
            foreach (SimulatedDevice bell in fleet.Devices)
            {
                bell.Button.Press(400);
            }

            foreach (SimulatedDevice bell in fleet.Devices)
            {
                await Fleet.Until(() => bell.Bell.LedState == LedState.ReceivedByGateway, TimeSpan.FromSeconds(30), "LED: received by gateway " + bell.Record.DeviceId, ct);
            }

            Assert.Empty(await system.CloudAlarmsAsync(ct));

            await endpoint.Broker.StartAsync(ct);
            await Fleet.Until(async () => (await system.CloudAlarmsAsync(ct)).Length >= fleet.Devices.Count, TimeSpan.FromSeconds(60), "every alarm in the cloud", ct);
            await Task.Delay(TimeSpan.FromSeconds(3), ct);

            JsonElement[] alarms = await system.CloudAlarmsAsync(ct);
            Assert.Equal(fleet.Devices.Count, alarms.Length);
            Assert.Equal(
                fleet.Devices.Select(d => d.Record.DeviceId + "@" + d.Record.DistrictCode).Order(),
                alarms.Select(a => a.GetProperty("deviceId").GetString() + "@" + a.GetProperty("district").GetProperty("code").GetString()).Order());
            Assert.Equal("reachable", (await GatewayHealthAsync(system, ct)).GetProperty("cloud").GetProperty("link").GetString());

            // The box's own "cloud unreachable" troubles and their restores reached the cloud and were receipted (a slow
            // first connect past the short threshold makes one pair more).
            await Fleet.Until(() => LinkTroubles(system) is { New: >= 1, Pending: 0 } counts && counts.New == counts.Restore, TimeSpan.FromSeconds(30), "354 new and restore receipted by the cloud", ct);
        }
        finally
        {
            Dump(system, endpoint, log);
        }
    }

    [Fact]
    public async Task A_revoked_gateway_certificate_is_refused_and_a_gateway_may_speak_only_on_its_own_topics()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken ct = cts.Token;
        await using CloudEndpoint endpoint = await CloudEndpoint.StartAsync(ct);
        string good = await endpoint.IssueAsync("gw-kept", ct);
        string revoked = await endpoint.IssueAsync("gw-stolen", ct);

        // Before the revocation the box connects like any other.
        await using (MqttSession before = Session(endpoint, revoked, BrokerListeners.AccountClientId("gateway-gw-stolen")))
        {
            await before.ConnectAsync(ct);
        }

        await endpoint.RevokeAsync("gw-stolen", ct);

        await using MqttSession stolen = Session(endpoint, revoked, BrokerListeners.AccountClientId("gateway-gw-stolen"));
        MqttConnectTimeoutException refused = await Assert.ThrowsAsync<MqttConnectTimeoutException>(() => stolen.ConnectAsync(ct));
        output.WriteLine(refused.Message);
        Assert.Contains("certificate", endpoint.Broker.ReadLog(), StringComparison.OrdinalIgnoreCase);

        // The other box is unaffected, and its identity reaches only its own topics.
        await using MqttSession bridge = Session(endpoint, endpoint.CertificateDirectory, BrokerListeners.AccountClientId("cloud-bridge"), bridgeIdentity: true);
        var events = new EventRecorder<string>();
        bridge.AddSubscription("anshimi/v1/gw/+/events", MqttQos.AtLeastOnce, (message, _) =>
        {
            events.Add(message.Topic + " " + Encoding.UTF8.GetString(message.Payload));
            return Task.CompletedTask;
        });
        await bridge.ConnectAsync(ct);
        await using MqttSession kept = Session(endpoint, good, BrokerListeners.AccountClientId("gateway-gw-kept"));
        await kept.ConnectAsync(ct);
        await kept.PublishAsync("anshimi/v1/gw/gw-other/events", "forged"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, ct);
        await kept.PublishAsync("anshimi/v1/gw/gw-kept/events", "own"u8.ToArray(), MqttQos.AtLeastOnce, retain: false, ct);
        await events.WaitForAsync(e => e == "anshimi/v1/gw/gw-kept/events own", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(events.Items, e => e.Contains("forged", StringComparison.Ordinal));
    }

    private static MqttSession Session(CloudEndpoint endpoint, string credentials, string clientId, bool bridgeIdentity = false) =>
        MqttSession.Create(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = endpoint.Broker.Port,
            ClientId = clientId,
            CleanSession = true,
            TlsCaFile = endpoint.CaFile,
            TlsClientCertificateFile = Path.Combine(credentials, bridgeIdentity ? "anshimi-cloud-bridge.crt" : "gateway.crt"),
            TlsClientKeyFile = Path.Combine(credentials, bridgeIdentity ? "anshimi-cloud-bridge.key" : "gateway.key"),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });

    private static async Task<AnshimiSystem> StartSiteAsync(CloudEndpoint endpoint, string gatewayId, int bells, TimeSpan unreachableAfter, CancellationToken ct)
    {
        string credentials = await endpoint.IssueAsync(gatewayId, ct);
        var options = new AnshimiSystemOptions { GatewayId = gatewayId, DeviceCount = bells, Profiles = ["home"] };
        foreach ((string key, string value) in endpoint.GatewayEnvironment(credentials, unreachableAfter))
        {
            options.GatewayEnvironment[key] = value;
        }

        options.GatewayEnvironment["Gateway__Outputs__Driver"] = "simulated";
        foreach ((string key, string value) in endpoint.BridgeEnvironment())
        {
            options.CloudEnvironment[key] = value;
        }

        return await AnshimiSystem.StartAsync(options, ct);
    }

    private static async Task<JsonElement> GatewayHealthAsync(AnshimiSystem system, CancellationToken ct)
    {
        using HttpResponseMessage response = await system.Http.GetAsync(new Uri(system.GatewayUri, "healthz"), ct);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.Clone();
    }

    /// <summary>The box's 354 troubles in its own store: receipted onsets and restores, and those still unreceipted.</summary>
    private static (long New, long Restore, long Pending) LinkTroubles(AnshimiSystem system)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(system.Directory, "gateway", "gateway.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(*) FILTER (WHERE qualifier = 1 AND receipted_at IS NOT NULL),
                   count(*) FILTER (WHERE qualifier = 3 AND receipted_at IS NOT NULL),
                   count(*) FILTER (WHERE receipted_at IS NULL)
            FROM troubles WHERE device_id = 0 AND code = 354;
            """;
        using SqliteDataReader reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private void Dump(AnshimiSystem system, CloudEndpoint endpoint, StringWriter log)
    {
        output.WriteLine(log.ToString());
        output.WriteLine(system.Gateway.ReadLog());
        output.WriteLine(system.Cloud.ReadLog());
        output.WriteLine(endpoint.Broker.ReadLog());
    }
}
