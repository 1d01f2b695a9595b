using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Audit;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Operators;

/// <summary>Sign-in and district isolation over real HTTP: every operator endpoint, including the SSE stream.</summary>
public sealed class DistrictIsolationTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;
    private HttpClient _gangnam = null!;
    private HttpClient _jongno = null!;
    private readonly AlarmEnvelope _gangnamAlarm = TestAlarms.Alarm(0x1001, 1, TestAlarms.GangnamGuOffice);
    private readonly AlarmEnvelope _jongnoAlarm = TestAlarms.Alarm(0x1002, 1, TestAlarms.JongnoGuOffice, address: "서울특별시 종로구 삼봉로 43");

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(_mqtt);
        _gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        _jongno = await _host.SignedInAsync(TestOperators.Jongno);
        await _host.InjectAsync(TestAlarms.EventsTopic(), _gangnamAlarm);
        await _host.InjectAsync(TestAlarms.EventsTopic(), _jongnoAlarm);
    }

    public async Task DisposeAsync()
    {
        _gangnam.Dispose();
        _jongno.Dispose();
        await _host.DisposeAsync();
    }

    [Theory]
    [InlineData("/api/alarms")]
    [InlineData("/api/alarms/stream")]
    [InlineData("/api/alarms/00001001:1")]
    [InlineData("/api/alarms/00001001:1/snapshot")]
    [InlineData("/api/devices")]
    [InlineData("/api/health")]
    [InlineData("/api/gateways")]
    [InlineData("/api/status")]
    [InlineData("/api/map/districts")]
    [InlineData("/api/map/layers")]
    [InlineData("/api/audit")]
    public async Task Without_sign_in_every_operator_endpoint_answers_401(string path)
    {
        using HttpClient anonymous = _host.Client();

        using HttpResponseMessage response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Health_stays_open_and_unauthenticated_actions_change_nothing()
    {
        using HttpClient anonymous = _host.Client();

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(new Uri($"/api/alarms/{_gangnamAlarm.Key}/ack", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await anonymous.GetAsync(new Uri("/api/session", UriKind.Relative))).StatusCode);
        Assert.Equal("open", (await _host.Store.FindAsync(_gangnamAlarm.Key, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_state_changing_request_without_the_console_header_is_refused()
    {
        // A signed-in browser whose cookie a cross-site form would carry, but not the header.
        using HttpClient bare = await _host.SignedInAsync(TestOperators.Gangnam);
        bare.DefaultRequestHeaders.Remove(Anshimi.CloudBridge.Operators.OperatorAuthentication.RequestHeader);
        HttpResponseMessage signIn = await bare.PostAsJsonAsync(new Uri("/api/session", UriKind.Relative),
            new { userName = TestOperators.Gangnam.UserName, password = TestOperators.Gangnam.Password });
        HttpResponseMessage ack = await bare.PostAsync(new Uri($"/api/alarms/{_gangnamAlarm.Key}/ack", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Forbidden, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, ack.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bare.GetAsync(new Uri($"/api/alarms/{_gangnamAlarm.Key}", UriKind.Relative))).StatusCode);
        Assert.Equal("open", (await _host.Store.FindAsync(_gangnamAlarm.Key, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task An_operator_lists_only_their_district_and_central_staff_list_all()
    {
        Assert.Equal([_gangnamAlarm.Key], await KeysAsync(_gangnam));
        Assert.Equal([_jongnoAlarm.Key], await KeysAsync(_jongno));
        Assert.Equal([_jongnoAlarm.Key, _gangnamAlarm.Key], await KeysAsync(_host.Http));
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("POST", "/ack")]
    [InlineData("POST", "/dispatch")]
    [InlineData("POST", "/resolve")]
    [InlineData("GET", "/snapshot")]
    public async Task Another_districts_alarm_is_not_found_rather_than_forbidden(string method, string suffix)
    {
        TestSnapshots.Write(_host, _jongnoAlarm.Key, _jongnoAlarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        var uri = new Uri($"/api/alarms/{_jongnoAlarm.Key}{suffix}", UriKind.Relative);

        using HttpResponseMessage response = method == "GET" ? await _gangnam.GetAsync(uri) : await _gangnam.PostAsync(uri, null);
        using HttpResponseMessage missing = method == "GET"
            ? await _gangnam.GetAsync(new Uri($"/api/alarms/0000FFFF:9{suffix}", UriKind.Relative))
            : await _gangnam.PostAsync(new Uri($"/api/alarms/0000FFFF:9{suffix}", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(missing.StatusCode, response.StatusCode);
        Assert.Equal(
            (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString(),
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal("open", (await _host.Store.FindAsync(_jongnoAlarm.Key, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task The_stream_carries_only_the_operators_district()
    {
        using SseReader stream = await SseReader.OpenAsync(_gangnam, "/api/alarms/stream");
        Assert.Equal("ready", (await stream.NextAsync()).Event);

        AlarmEnvelope elsewhere = TestAlarms.Alarm(0x1003, 1, TestAlarms.JongnoGuOffice);
        AlarmEnvelope mine = TestAlarms.Alarm(0x1004, 1, TestAlarms.GangnamGuOffice);
        await _host.InjectAsync(TestAlarms.EventsTopic(), elsewhere);
        using (HttpResponseMessage ack = await _jongno.PostAsync(new Uri($"/api/alarms/{elsewhere.Key}/ack", UriKind.Relative), null))
        {
            ack.EnsureSuccessStatusCode();
        }

        await _host.InjectAsync(TestAlarms.EventsTopic(), mine);

        (string Event, string Data) next = await stream.NextAsync();
        Assert.Equal("alarm", next.Event);
        Assert.Equal(mine.Key, JsonDocument.Parse(next.Data).RootElement.GetProperty("key").GetString());
    }

    [Fact]
    public async Task Walk_test_alarms_are_kept_out_of_the_live_queue_and_streamed_under_their_own_name()
    {
        using SseReader stream = await SseReader.OpenAsync(_gangnam, "/api/alarms/stream");
        Assert.Equal("ready", (await stream.NextAsync()).Event);
        AlarmEnvelope walkTest = TestAlarms.Alarm(0x1005, 1, TestAlarms.GangnamGuOffice, test: true);

        await _host.InjectAsync(TestAlarms.EventsTopic(), walkTest);

        Assert.Equal("walk-test", (await stream.NextAsync()).Event);
        Assert.DoesNotContain(walkTest.Key, await KeysAsync(_gangnam));
        Assert.Equal([walkTest.Key], await KeysAsync(_gangnam, "/api/alarms?view=walk-test"));
        Assert.Empty(await KeysAsync(_jongno, "/api/alarms?view=walk-test"));
    }

    [Fact]
    public async Task Acknowledge_dispatch_and_resolve_are_stored_with_the_operator_and_audited()
    {
        foreach (string action in new[] { "ack", "dispatch", "resolve" })
        {
            using HttpResponseMessage response = await _gangnam.PostAsync(new Uri($"/api/alarms/{_gangnamAlarm.Key}/{action}", UriKind.Relative), null);
            response.EnsureSuccessStatusCode();
        }

        var alarm = (await _host.Store.FindAsync(_gangnamAlarm.Key, CancellationToken.None))!;
        Assert.Equal(
            [("acknowledged", TestOperators.Gangnam.UserName), ("dispatched", TestOperators.Gangnam.UserName), ("resolved", TestOperators.Gangnam.UserName)],
            alarm.Timeline.Where(t => t.Actor is not null).Select(t => (t.Stage, t.Actor!)));
        AuditLog audit = _host.Services.GetRequiredService<AuditLog>();
        Assert.Equal(
            [AuditAction.Resolve, AuditAction.Dispatch, AuditAction.Acknowledge],
            (await audit.ListAsync(10, _gangnamAlarm.Key, CancellationToken.None)).Select(r => r.Entry.Action));

        // The bell hears "help is on the way" once and "resolved" once; dispatch adds nothing on the wire.
        await Eventually.HoldsAsync(
            () => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Any(a => a.Key == _gangnamAlarm.Key && a.Stage == "resolved"),
            "resolve sent");
        Assert.All(_mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Where(a => a.Key == _gangnamAlarm.Key),
            a => Assert.Contains(a.Stage, new[] { "acknowledged", "resolved" }));
    }

    [Fact]
    public async Task Signing_out_ends_the_session_and_is_audited()
    {
        using HttpClient client = await _host.SignedInAsync(TestOperators.Gangnam);
        JsonElement me = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/session", UriKind.Relative));
        Assert.Equal(TestOperators.GangnamCode, me.GetProperty("districts")[0].GetProperty("code").GetString());
        Assert.Equal("강남구", me.GetProperty("districts")[0].GetProperty("nameKo").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync(new Uri("/api/session/sign-out", UriKind.Relative), null)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);
        AuditLog audit = _host.Services.GetRequiredService<AuditLog>();
        Assert.Contains(await audit.ListAsync(20, TestOperators.Gangnam.UserName, CancellationToken.None), e => e.Entry.Action == AuditAction.SignOut);
    }

    [Fact]
    public async Task The_audit_log_is_for_central_staff_only()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _gangnam.GetAsync(new Uri("/api/audit", UriKind.Relative))).StatusCode);
        JsonElement verified = await _host.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/audit/verify", UriKind.Relative));
        Assert.True(verified.GetProperty("intact").GetBoolean());
        Assert.True(verified.GetProperty("rowsVerified").GetInt64() >= 3);
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string user, string password) =>
        client.PostAsJsonAsync(new Uri("/api/session", UriKind.Relative), new { userName = user, password });

    private static async Task<List<string>> KeysAsync(HttpClient client, string path = "/api/alarms") =>
        (await client.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative))).EnumerateArray().Select(a => a.GetProperty("key").GetString()!).ToList();
}
