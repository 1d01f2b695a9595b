using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Escorts;

public sealed class EscortRestartTests : IDisposable
{
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("escort-restart-").FullName;
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("escort-restart-data-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_cityDirectory, recursive: true);
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task A_session_active_at_a_restart_is_resumed_and_a_silent_one_times_out_releasing_its_lights()
    {
        // The session's silence is measured on this clock, so a slow restart cannot time it out before it is checked.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 21, 30, 0, TimeSpan.Zero));
        string id;
        await using (CloudBridgeHost before = await CloudBridgeHost.StartAsync(
            new FakeMqttClient(), AppTestCity.Settings(_cityDirectory), _dataDirectory, services => services.AddSingleton<TimeProvider>(clock)))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/app/v1/escorts")
            {
                Content = new StringContent(AppRequests.StartBody(AppTestCity.Along(95), AppTestCity.Along(400)), Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
            using HttpResponseMessage started = await before.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
            id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString()!;
        }

        var mqtt = new FakeMqttClient();
        await using CloudBridgeHost after = await CloudBridgeHost.StartAsync(mqtt, AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?>
        {
            ["Escorts:SessionTimeout"] = "00:02:00",
            ["Escorts:SweepInterval"] = "00:00:05",
        }), _dataDirectory, services => services.AddSingleton<TimeProvider>(clock));
        uint sessionId = uint.Parse(id, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        // Resumed at its last position: the planner holds the lights around it again.
        Assert.Equal(
            [Anshimi.CloudBridge.Streetlights.Streetlight.FirstId + 3, Anshimi.CloudBridge.Streetlights.Streetlight.FirstId + 4],
            after.Services.GetRequiredService<EscortPlanner>().LitFor(sessionId));

        DateTimeOffset lastHeard = clock.GetUtcNow();
        await clock.AdvanceUntilAsync(
            TimeSpan.FromSeconds(5),
            () => mqtt.PublishedOf<LightCommandEnvelope>(Topics.GatewayCommands(AppTestCity.WestGateway)).Any(c => c.Mode == LightModeName.Release),
            "lights released after the resumed session fell silent");
        Assert.True(clock.GetUtcNow() - lastHeard >= TimeSpan.FromMinutes(2), "released after " + (clock.GetUtcNow() - lastHeard) + " of silence");
        List<string> released = mqtt.PublishedOf<LightCommandEnvelope>(Topics.GatewayCommands(AppTestCity.WestGateway))
            .Where(c => c.Mode == LightModeName.Release).SelectMany(c => c.Lights).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([AppTestCity.LightId(3), AppTestCity.LightId(4)], released);
        Assert.Equal(EscortState.TimedOut, (await after.Services.GetRequiredService<EscortStore>().FindAsync(sessionId, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_light_outcome_that_does_not_fit_its_topic_is_dropped_and_one_for_no_light_of_its_gateway_refused()
    {
        await using CloudBridgeHost bridge = await CloudBridgeHost.StartAsync(new FakeMqttClient(), AppTestCity.Settings(_cityDirectory));
        LightOutcomeLog outcomes = bridge.Services.GetRequiredService<LightOutcomeLog>();
        DateTimeOffset at = DateTimeOffset.UtcNow;
        string topic = Topics.GatewayEvents(AppTestCity.WestGateway);

        await bridge.InjectAsync(topic, new LightOutcomeEnvelope("lc-1", "gw-elsewhere", AppTestCity.LightId(1), LightModeName.Escort, LightOutcomeName.Confirmed, at));
        await bridge.InjectAsync(topic, new LightOutcomeEnvelope("lc-1", AppTestCity.WestGateway, "0000A001", LightModeName.Escort, LightOutcomeName.Confirmed, at));
        await bridge.InjectAsync(topic, new LightOutcomeEnvelope("lc-1", AppTestCity.WestGateway, AppTestCity.LightId(1), "disco", LightOutcomeName.Confirmed, at));
        await bridge.InjectAsync(topic, new LightOutcomeEnvelope("lc-1", AppTestCity.WestGateway, AppTestCity.LightId(1), LightModeName.Escort, "maybe", at));
        Assert.Equal(3, bridge.Statistics.Malformed);
        Assert.Equal(1, bridge.Refusals.Count(Anshimi.CloudBridge.Ingress.RefusalReason.UnboundDevice));
        Assert.Equal(0, outcomes.Confirmed + outcomes.Failed);

        await bridge.InjectAsync(topic, new LightOutcomeEnvelope("lc-2", AppTestCity.WestGateway, AppTestCity.LightId(1), LightModeName.Escort, LightOutcomeName.Expired, at));
        Assert.Equal(1, outcomes.Failed);
        Assert.Equal(LightOutcomeName.Expired, outcomes.Latest(Anshimi.CloudBridge.Streetlights.Streetlight.FirstId + 1)!.Outcome);
    }
}
