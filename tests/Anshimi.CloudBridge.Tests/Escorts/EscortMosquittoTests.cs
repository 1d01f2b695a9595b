using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Escorts;

/// <summary>
/// The bridge on a real mosquitto with per-user ACLs: a walk along the test street and an emergency report,
/// with the light commands checked by an independent <c>mosquitto_sub</c> on every gateway's command topic.
/// </summary>
[Trait("Category", "Integration")]
public sealed class EscortMosquittoTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string ObserverUser = "observer";

    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("escort-it-").FullName;
    private MosquittoBroker _broker = null!;
    private RunningProcess _observer = null!;
    private CloudBridgeHost _bridge = null!;

    public async Task InitializeAsync()
    {
        var options = new MosquittoBrokerOptions();
        foreach (string user in new[] { BridgeUser, ObserverUser, AppTestCity.WestGateway })
        {
            options.Users[user] = Guid.NewGuid().ToString("N");
        }

        foreach (string line in new[]
        {
            "user " + BridgeUser, "topic read anshimi/v1/gw/+/events", "topic write anshimi/v1/gw/+/commands",
            "user " + ObserverUser, "topic read anshimi/v1/gw/+/commands",
            "user " + AppTestCity.WestGateway, "topic write anshimi/v1/gw/" + AppTestCity.WestGateway + "/events",
        })
        {
            options.AclLines.Add(line);
        }

        _broker = await MosquittoBroker.StartAsync(options);
        _observer = ProcessRunner.Start(
            "stdbuf", ["-oL", "mosquitto_sub", .. _broker.CliArguments(ObserverUser), "-d", "-q", "1", "-t", "anshimi/v1/gw/+/commands", "-F", "%t %p"]);
        await _observer.WaitForOutputLineAsync(line => line.Contains("SUBACK", StringComparison.Ordinal), TimeSpan.FromSeconds(20));

        _bridge = await CloudBridgeHost.StartAsync(settings: AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = _broker.Host,
            ["Mqtt:Port"] = _broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = BridgeUser,
            ["Mqtt:Password"] = _broker.PasswordOf(BridgeUser),
            ["Mqtt:ClientId"] = "cloud-bridge-escort-it",
        }));
    }

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        await _observer.DisposeAsync();
        await _broker.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task A_walk_lights_the_way_ahead_and_releases_it_behind_on_the_gateways_command_topics()
    {
        GeoPoint[] route = [AppTestCity.Along(5), AppTestCity.Along(570)];
        string id = await StartAsync(route);
        await WaitForAsync(AppTestCity.WestGateway, LightModeName.Escort, AppTestCity.LightId(2));

        foreach (double metres in new[] { 150.0, 300, 450 })
        {
            using HttpResponseMessage moved = await PostAsync($"/api/app/v1/escorts/{id}/locations", AppRequests.Locations(AppTestCity.Along(metres)));
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        await WaitForAsync(AppTestCity.EastGateway, LightModeName.Escort, AppTestCity.LightId(17));
        using HttpResponseMessage ended = await PostAsync($"/api/app/v1/escorts/{id}/end", """{"reason":"arrived"}""");
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        await WaitForAsync(AppTestCity.EastGateway, LightModeName.Release, AppTestCity.LightId(17));

        // Every light the walk lit was lit before it was released, by its own gateway, and all were released.
        List<(string Gateway, LightCommandEnvelope Command)> seen = Observed();
        foreach (IGrouping<string, (string Gateway, string Mode)> light in seen
            .SelectMany(s => s.Command.Lights.Select(l => (Light: l, s.Gateway, s.Command.Mode)))
            .GroupBy(x => x.Light, x => (x.Gateway, x.Mode)))
        {
            int index = int.Parse(light.Key, NumberStyles.HexNumber, CultureInfo.InvariantCulture) - (int)Anshimi.CloudBridge.Streetlights.Streetlight.FirstId;
            Assert.All(light, x => Assert.Equal(index < AppTestCity.LightCount / 2 ? AppTestCity.WestGateway : AppTestCity.EastGateway, x.Gateway));
            Assert.Equal(LightModeName.Escort, light.First().Mode);
            Assert.Equal(LightModeName.Release, light.Last().Mode);
        }

        // Lights ahead of the walker at 150 m (the next 60 m: 180 and 210) were lit while the walker stood there.
        int releasedFirst = seen.FindIndex(s => s.Command.Mode == LightModeName.Release && s.Command.Lights.Contains(AppTestCity.LightId(0)));
        int ahead = seen.FindIndex(s => s.Command.Mode == LightModeName.Escort && s.Command.Lights.Contains(AppTestCity.LightId(7)));
        Assert.InRange(ahead, 0, releasedFirst + 1);
        Assert.All(seen.Where(s => s.Command.Mode == LightModeName.Escort), s => Assert.Equal(30, s.Command.HoldSeconds));

        // The gateway's per-light outcome comes back on its events topic and is recorded.
        await using MqttSession gateway = MqttSession.Create(_broker.ClientOptions(AppTestCity.WestGateway));
        await gateway.ConnectAsync(CancellationToken.None);
        LightCommandEnvelope first = seen.First(s => s.Gateway == AppTestCity.WestGateway).Command;
        var outcome = new LightOutcomeEnvelope(first.RequestId, AppTestCity.WestGateway, first.Lights[0], first.Mode, LightOutcomeName.Confirmed, DateTimeOffset.UtcNow);
        await gateway.PublishAsync(Topics.GatewayEvents(AppTestCity.WestGateway), EnvelopeSerializer.Serialize(outcome), MqttQos.AtLeastOnce, false, CancellationToken.None);
        LightOutcomeLog outcomes = _bridge.Services.GetRequiredService<LightOutcomeLog>();
        await Eventually.HoldsAsync(() => outcomes.Confirmed == 1, "light outcome recorded");
        Assert.True(DeviceIdText.TryParse(first.Lights[0], out uint lightId));
        Assert.Equal(first.RequestId, outcomes.Latest(lightId)!.RequestId);

        string metrics = await _bridge.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Prometheus.Value(metrics, "anshimi_cloud_bridge_light_outcomes_total{outcome=\"confirmed\"}", absent: -1));
        Assert.True(Prometheus.Value(metrics, "anshimi_cloud_bridge_light_commands_total{outcome=\"sent\"}", absent: -1) > 0, "light commands counted as sent");
    }

    [Fact]
    public async Task An_emergency_report_opens_an_alarm_in_its_district_and_sets_the_nearest_lights_blinking()
    {
        GeoPoint at = AppTestCity.Along(400);
        using HttpResponseMessage reported = await PostAsync("/api/app/v1/emergencies", AppRequests.EmergencyBody(at), "report-1");
        Assert.Equal(HttpStatusCode.Created, reported.StatusCode);
        string alarmKey = (await reported.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alarmKey").GetString()!;

        foreach (int light in new[] { 12, 13, 14 })
        {
            await WaitForAsync(AppTestCity.EastGateway, LightModeName.Emergency, AppTestCity.LightId(light));
        }

        LightCommandEnvelope emergency = Observed().Single(s => s.Command.Mode == LightModeName.Emergency).Command;
        Assert.Equal(0, emergency.HoldSeconds);
        Assert.Equal(3, emergency.Lights.Count);

        JsonElement alarm = await _bridge.Http.GetFromJsonAsync<JsonElement>($"/api/alarms/{alarmKey}");
        Assert.Equal("11140", alarm.GetProperty("district").GetProperty("code").GetString());
        Assert.Equal(ContactIdCode.Panic, alarm.GetProperty("event").GetProperty("code").GetInt32());
        Assert.Equal("open", alarm.GetProperty("state").GetString());
    }

    private async Task WaitForAsync(string gateway, string mode, string light) =>
        await _observer.WaitForOutputLineAsync(
            line => Parse(line) is { } c && c.Gateway == gateway && c.Command.Mode == mode && c.Command.Lights.Contains(light),
            TimeSpan.FromSeconds(20));

    private List<(string Gateway, LightCommandEnvelope Command)> Observed() =>
        _observer.OutputLines.Select(Parse).OfType<(string, LightCommandEnvelope)>().ToList();

    private static (string Gateway, LightCommandEnvelope Command)? Parse(string line)
    {
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !line.StartsWith(Topics.Root + "/gw/", StringComparison.Ordinal) ||
            !EnvelopeSerializer.TryParse(Encoding.UTF8.GetBytes(line[(space + 1)..]), out Envelope? envelope, out _) ||
            envelope is not LightCommandEnvelope command)
        {
            return null;
        }

        return (Topics.GatewayIdOf(line[..space])!, command);
    }

    private async Task<string> StartAsync(GeoPoint[] route)
    {
        using HttpResponseMessage response = await PostAsync("/api/app/v1/escorts", AppRequests.StartBody(route[0], route[^1], route));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString()!;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body, string? idempotencyKey = null) =>
        AppRequests.PostAsync(_bridge.Http, path, body, idempotencyKey: idempotencyKey);
}
