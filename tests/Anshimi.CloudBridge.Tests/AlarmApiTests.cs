using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

/// <summary>The operator API over real HTTP against Kestrel on 127.0.0.1.</summary>
public sealed class AlarmApiTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Alarms_are_listed_newest_first_with_district_and_event_names()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x01, 1, TestAlarms.SeoulCityHall));
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x02, 1, TestAlarms.GangnamGuOffice, code: 121));

        JsonElement alarms = await GetJsonAsync("/api/alarms");

        Assert.Equal(["00000002:1", "00000001:1"], alarms.EnumerateArray().Select(a => a.GetProperty("key").GetString()));
        JsonElement newest = alarms[0];
        Assert.Equal("00000002", newest.GetProperty("deviceId").GetString());
        Assert.Equal(121, newest.GetProperty("event").GetProperty("code").GetInt32());
        Assert.Equal("협박", newest.GetProperty("event").GetProperty("nameKo").GetString());
        Assert.Equal("Duress", newest.GetProperty("event").GetProperty("nameEn").GetString());
        Assert.Equal("11680", newest.GetProperty("district").GetProperty("code").GetString());
        Assert.Equal("강남구", newest.GetProperty("district").GetProperty("nameKo").GetString());
        Assert.Equal("Gangnam-gu", newest.GetProperty("district").GetProperty("nameEn").GetString());
        Assert.Equal("서울특별시 강남구 학동로 426", newest.GetProperty("site").GetProperty("address").GetString());
        Assert.Equal(37.5172, newest.GetProperty("site").GetProperty("lat").GetDouble());
        Assert.Equal(TestAlarms.Gateway, newest.GetProperty("gatewayId").GetString());
        Assert.Equal("open", newest.GetProperty("state").GetString());
        Assert.Equal(["raised", "received"], newest.GetProperty("timeline").EnumerateArray().Select(t => t.GetProperty("stage").GetString()));
        Assert.Equal("Jung-gu", alarms[1].GetProperty("district").GetProperty("nameEn").GetString());
    }

    [Fact]
    public async Task Acknowledging_publishes_the_operator_ack_and_resends_until_the_gateway_relays_it()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 9);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);

        HttpResponseMessage response = await PostAsync($"/api/alarms/{alarm.Key}/ack", null);

        response.EnsureSuccessStatusCode();
        JsonElement body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("acknowledged", body.GetProperty("state").GetString());
        Assert.Equal(TestOperators.Central.UserName, body.GetProperty("timeline")[2].GetProperty("actor").GetString());

        // Retry interval 200 ms doubling to 800 ms: several copies go out while the gateway stays silent.
        await Eventually.HoldsAsync(() => Acks().Count >= 3, "the acknowledgement re-sent");
        OperatorAckEnvelope ack = Acks()[0];
        Assert.Equal((alarm.Key, "acknowledged", TestOperators.Central.UserName), (ack.Key, ack.Stage, ack.Operator));

        await _host.InjectAsync(TestAlarms.EventsTopic(), new AckRelayedEnvelope(alarm.Key, "acknowledged"));
        await Task.Delay(TimeSpan.FromSeconds(1)); // a send already under way may still land
        int afterRelay = Acks().Count;
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(afterRelay, Acks().Count);
        JsonElement stored = await GetJsonAsync($"/api/alarms/{alarm.Key}");
        Assert.Contains("acknowledged-relayed", stored.GetProperty("timeline").EnumerateArray().Select(t => t.GetProperty("stage").GetString()));

        List<OperatorAckEnvelope> Acks() => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).ToList();
    }

    [Fact]
    public async Task Acks_stored_while_the_broker_is_unreachable_go_out_once_it_is_back()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xF1, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        _mqtt.FailPublishes = true;

        (await PostAsync($"/api/alarms/{alarm.Key}/resolve", null)).EnsureSuccessStatusCode();
        await Task.Delay(500);
        _mqtt.FailPublishes = false;
        _mqtt.DropConnection("broker restarted");

        await Eventually.HoldsAsync(
            () => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Any(a => a.Key == alarm.Key && a.Stage == "resolved" && a.Operator == TestOperators.Central.UserName),
            "the resolve sent after reconnecting");
    }

    [Fact]
    public async Task Acknowledging_twice_is_harmless_and_resolving_a_resolved_alarm_conflicts()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x77, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"/api/alarms/{alarm.Key}/ack", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"/api/alarms/{alarm.Key}/ack", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"/api/alarms/{alarm.Key}/resolve", "{}")).StatusCode);

        HttpResponseMessage again = await PostAsync($"/api/alarms/{alarm.Key}/resolve", null);
        HttpResponseMessage lateAck = await PostAsync($"/api/alarms/{alarm.Key}/ack", null);

        await AssertProblemAsync(again, HttpStatusCode.Conflict, "Alarm already resolved");
        await AssertProblemAsync(lateAck, HttpStatusCode.Conflict, "Alarm already resolved");
    }

    [Theory]
    [InlineData("GET", "/api/alarms/not-a-key")]
    [InlineData("GET", "/api/alarms/0000A1B2:")]
    [InlineData("POST", "/api/alarms/xyz/ack")]
    [InlineData("POST", "/api/alarms/0000A1B2-5/resolve")]
    public async Task An_invalid_key_is_a_bad_request(string method, string path)
    {
        HttpResponseMessage response = method == "GET"
            ? await _host.Http.GetAsync(new Uri(path, UriKind.Relative))
            : await PostAsync(path, null);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Invalid alarm key");
    }

    [Theory]
    [InlineData("GET", "/api/alarms/0000BEEF:1")]
    [InlineData("POST", "/api/alarms/0000BEEF:1/ack")]
    [InlineData("POST", "/api/alarms/0000BEEF:1/resolve")]
    public async Task An_unknown_alarm_is_not_found(string method, string path)
    {
        HttpResponseMessage response = method == "GET"
            ? await _host.Http.GetAsync(new Uri(path, UriKind.Relative))
            : await PostAsync(path, null);

        await AssertProblemAsync(response, HttpStatusCode.NotFound, "Alarm not found");
    }

    [Fact]
    public async Task Bad_limits_and_views_are_bad_requests_and_change_nothing()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x88, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);

        HttpResponseMessage badLimit = await _host.Http.GetAsync(new Uri("/api/alarms?limit=0", UriKind.Relative));
        HttpResponseMessage badView = await _host.Http.GetAsync(new Uri("/api/alarms?view=everything", UriKind.Relative));

        await AssertProblemAsync(badLimit, HttpStatusCode.BadRequest, "Invalid limit");
        await AssertProblemAsync(badView, HttpStatusCode.BadRequest, "Invalid view");
        Assert.Equal("open", (await GetJsonAsync($"/api/alarms/{alarm.Key}")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_stream_delivers_a_new_alarm_and_its_state_change()
    {
        using var stream = await SseReader.OpenAsync(_host.Http, "/api/alarms/stream");
        Assert.Equal("ready", (await stream.NextAsync()).Event);

        AlarmEnvelope alarm = TestAlarms.Alarm(0x5E, 1, TestAlarms.SeoulCityHall);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        (string Event, string Data) created = await stream.NextAsync();
        (await PostAsync($"/api/alarms/{alarm.Key}/ack", null)).EnsureSuccessStatusCode();
        (string Event, string Data) updated = await stream.NextAsync();

        Assert.Equal("alarm", created.Event);
        JsonElement createdAlarm = JsonDocument.Parse(created.Data).RootElement;
        Assert.Equal(alarm.Key, createdAlarm.GetProperty("key").GetString());
        Assert.Equal("중구", createdAlarm.GetProperty("district").GetProperty("nameKo").GetString());
        Assert.Equal("alarm-updated", updated.Event);
        Assert.Equal("acknowledged", JsonDocument.Parse(updated.Data).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Health_status_openapi_and_console_are_served()
    {
        HttpResponseMessage health = await _host.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        JsonElement status = await GetJsonAsync("/api/status");
        string openApi = await _host.Http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        HttpResponseMessage console = await _host.Http.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal("connected", status.GetProperty("mqtt").GetString());
        Assert.True(status.GetProperty("subscribed").GetBoolean());
        Assert.Contains("/api/alarms/{key}/ack", openApi, StringComparison.Ordinal);
        Assert.Contains("/api/alarms/stream", openApi, StringComparison.Ordinal);
        Assert.Equal("text/html", console.Content.Headers.ContentType?.MediaType);
        Assert.Contains("안심이 관제", await console.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> GetJsonAsync(string path) =>
        await _host.Http.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));

    private Task<HttpResponseMessage> PostAsync(string path, string? json) =>
        _host.Http.PostAsync(
            new Uri(path, UriKind.Relative),
            json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }
}
