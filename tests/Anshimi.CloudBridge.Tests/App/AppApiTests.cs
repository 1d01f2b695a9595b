using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.App;

/// <summary>The app back-end API over real HTTP, with the broker replaced by <see cref="FakeMqttClient"/>.</summary>
public sealed class AppApiTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("app-city-").FullName;
    private CloudBridgeHost _bridge = null!;

    private EscortStore Escorts => _bridge.Services.GetRequiredService<EscortStore>();

    public async Task InitializeAsync() =>
        _bridge = await CloudBridgeHost.StartAsync(_mqtt, AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?>
        {
            ["Escorts:MaxRequestBytes"] = "4096",
            ["Escorts:MaxRoutePoints"] = "50",

            // A long hold: no refresh may add commands while a test compares state.
            ["Escorts:HoldSeconds"] = "600",
        }));

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task A_walk_lights_the_street_ahead_and_releases_it_behind_and_at_the_end()
    {
        string id = await StartAsync(AppTestCity.Along(5), AppTestCity.Along(570));

        await Eventually.HoldsAsync(() => Lights(AppTestCity.WestGateway, LightModeName.Escort).Count >= 2, "escort at the start");
        Assert.Equal([AppTestCity.LightId(0), AppTestCity.LightId(1)], Lights(AppTestCity.WestGateway, LightModeName.Escort));

        using HttpResponseMessage moved = await PostAsync($"/api/app/v1/escorts/{id}/locations", AppRequests.Locations(AppTestCity.Along(300), AppTestCity.Along(310)));
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        await Eventually.HoldsAsync(() => Lights(AppTestCity.EastGateway, LightModeName.Escort).Contains(AppTestCity.LightId(12)), "escort ahead on the east gateway");
        Assert.Contains(AppTestCity.LightId(0), Lights(AppTestCity.WestGateway, LightModeName.Release));
        Assert.Equal(2, await Escorts.CountTraceAsync(uint.Parse(id, System.Globalization.NumberStyles.HexNumber, null), CancellationToken.None));

        using HttpResponseMessage ended = await PostAsync($"/api/app/v1/escorts/{id}/end", """{"reason":"arrived"}""");
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        Assert.Equal("arrived", (await ended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        await Eventually.HoldsAsync(() => Lights(AppTestCity.EastGateway, LightModeName.Release).Contains(AppTestCity.LightId(12)), "release at the end");

        using HttpResponseMessage late = await PostAsync($"/api/app/v1/escorts/{id}/locations", AppRequests.Locations(AppTestCity.Along(320)));
        await AssertProblemAsync(late, HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    [InlineData("")]
    public async Task Without_a_valid_key_every_app_call_is_unauthorized_and_changes_nothing(string? key)
    {
        State before = await StateAsync();
        foreach ((HttpMethod method, string path, string? body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Post, "/api/app/v1/escorts", AppRequests.StartBody(AppTestCity.Along(0), AppTestCity.Along(100))),
            (HttpMethod.Post, "/api/app/v1/emergencies", """{"location":{"lat":37.5663,"lon":126.9779}}"""),
            (HttpMethod.Get, "/api/app/v1/escorts/00000001/advertisement", null),
        })
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            if (key is not null)
            {
                request.Headers.Add("X-Api-Key", key);
            }

            request.Headers.Add("Idempotency-Key", "k-1");
            using HttpResponseMessage response = await _bridge.Http.SendAsync(request);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        }

        Assert.Equal(before, await StateAsync());
    }

    public static TheoryData<string, string, int> BadStarts => new()
    {
        { "missing origin", """{"destination":{"lat":37.5663,"lon":126.9779}}""", 400 },
        { "missing lon", """{"origin":{"lat":37.5663},"destination":{"lat":37.5663,"lon":126.9779}}""", 400 },
        { "outside Seoul", """{"origin":{"lat":35.1151,"lon":129.0422},"destination":{"lat":37.5663,"lon":126.9779}}""", 400 },
        { "route point outside Seoul", """{"origin":{"lat":37.5663,"lon":126.9779},"destination":{"lat":37.5663,"lon":126.98},"route":[{"lat":37.5663,"lon":126.9779},{"lat":0,"lon":0}]}""", 400 },
        { "one-point route", """{"origin":{"lat":37.5663,"lon":126.9779},"destination":{"lat":37.5663,"lon":126.98},"route":[{"lat":37.5663,"lon":126.9779}]}""", 400 },
        { "string for a number", """{"origin":{"lat":"37.5","lon":126.9779},"destination":{"lat":37.5663,"lon":126.9779}}""", 400 },
        { "malformed JSON", """{"origin":{"lat":37.5663,""", 400 },
        { "JSON null", "null", 400 },
        { "JSON array", "[]", 400 },
    };

    [Theory]
    [MemberData(nameof(BadStarts))]
    public async Task A_bad_start_gets_a_clear_400_and_changes_nothing(string what, string body, int status)
    {
        State before = await StateAsync();
        using HttpResponseMessage response = await PostAsync("/api/app/v1/escorts", body);
        JsonElement problem = await AssertProblemAsync(response, (HttpStatusCode)status);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()), what);
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Too_many_route_points_an_oversized_body_and_a_non_json_body_are_refused_and_change_nothing()
    {
        State before = await StateAsync();
        GeoPoint[] route = Enumerable.Range(0, 51).Select(i => AppTestCity.Along(i)).ToArray();
        using HttpResponseMessage tooMany = await PostAsync("/api/app/v1/escorts", AppRequests.StartBody(AppTestCity.Along(0), AppTestCity.Along(50), route));
        JsonElement problem = await AssertProblemAsync(tooMany, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("route", out _));

        string padding = new(' ', 5000);
        using HttpResponseMessage oversized = await PostAsync("/api/app/v1/escorts", AppRequests.StartBody(AppTestCity.Along(0), AppTestCity.Along(50)) + padding);
        await AssertProblemAsync(oversized, HttpStatusCode.RequestEntityTooLarge);

        // Chunked, so no Content-Length announces the size: the read itself stops it.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/app/v1/escorts")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(padding + padding + "{}"))),
        };
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage chunkedResponse = await _bridge.Http.SendAsync(chunked);
        await AssertProblemAsync(chunkedResponse, HttpStatusCode.RequestEntityTooLarge);

        using var text = new HttpRequestMessage(HttpMethod.Post, "/api/app/v1/escorts") { Content = new StringContent("origin=here", Encoding.UTF8, "text/plain") };
        text.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage notJson = await _bridge.Http.SendAsync(text);
        await AssertProblemAsync(notJson, HttpStatusCode.UnsupportedMediaType);

        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task Unknown_sessions_other_clients_sessions_and_bad_updates_are_refused_and_change_nothing()
    {
        string id = await StartAsync(AppTestCity.Along(0), AppTestCity.Along(300));
        await Eventually.HoldsAsync(() => _mqtt.Published.Count > 0, "start commands");
        State before = await StateAsync();

        await AssertProblemAsync(await PostAsync("/api/app/v1/escorts/0BADCAFE/locations", AppRequests.Locations(AppTestCity.Along(10))), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PostAsync("/api/app/v1/escorts/not-an-id/locations", AppRequests.Locations(AppTestCity.Along(10))), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/locations", AppRequests.Locations(AppTestCity.Along(10)), "other-" + AppTestCity.ApiKey), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/end", """{"reason":"arrived"}""", "other-" + AppTestCity.ApiKey), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/locations", """{"locations":[]}"""), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/locations", """{"locations":[{"lat":37.5663,"lon":126.9779}]}"""), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/locations", AppRequests.Locations(AppTestCity.Along(10), new GeoPoint(35.1151, 129.0422))), HttpStatusCode.BadRequest);
        string tooMany = AppRequests.Locations(Enumerable.Range(0, 21).Select(i => AppTestCity.Along(i)).ToArray());
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/locations", tooMany), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await PostAsync($"/api/app/v1/escorts/{id}/end", """{"reason":"bored"}"""), HttpStatusCode.BadRequest);

        Assert.Equal(before, await StateAsync());
        Assert.Equal(0, await Escorts.CountTraceAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task An_emergency_opens_one_alarm_in_its_district_and_a_repeat_with_the_same_key_returns_the_same_result()
    {
        GeoPoint at = AppTestCity.Along(95);
        string body = AppRequests.EmergencyBody(at);
        using HttpResponseMessage first = await PostAsync("/api/app/v1/emergencies", body, idempotencyKey: "emergency-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        string firstBody = await first.Content.ReadAsStringAsync();
        JsonElement report = JsonDocument.Parse(firstBody).RootElement;
        string alarmKey = report.GetProperty("alarmKey").GetString()!;
        Assert.Equal("11140", report.GetProperty("districtCode").GetString());
        Assert.Equal(
            [AppTestCity.LightId(3), AppTestCity.LightId(4), AppTestCity.LightId(2)],
            report.GetProperty("lights").EnumerateArray().Select(l => l.GetProperty("lightId").GetString()));
        await Eventually.HoldsAsync(() => Lights(AppTestCity.WestGateway, LightModeName.Emergency).Count == 3, "emergency commands");
        int published = _mqtt.Published.Count;

        using HttpResponseMessage again = await PostAsync("/api/app/v1/emergencies", body, idempotencyKey: "emergency-1");
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(firstBody, await again.Content.ReadAsStringAsync());
        Assert.True(again.Headers.Contains("Idempotent-Replayed"));

        AlarmRecord alarm = (await _bridge.Store.FindAsync(alarmKey, CancellationToken.None))!;
        Assert.Equal("11140", alarm.DistrictCode);
        Assert.Equal(ContactIdCode.Panic, alarm.EventCode);
        Assert.Equal(1, await _bridge.Store.CountAsync(CancellationToken.None));
        Assert.Equal(1, await Escorts.CountEmergenciesAsync(CancellationToken.None));
        Assert.Equal(published, _mqtt.Published.Count);

        string other = AppRequests.EmergencyBody(at with { Longitude = at.Longitude + 0.001 });
        await AssertProblemAsync(await PostAsync("/api/app/v1/emergencies", other, idempotencyKey: "emergency-1"), HttpStatusCode.UnprocessableEntity);
        await AssertProblemAsync(await PostAsync("/api/app/v1/emergencies", other), HttpStatusCode.BadRequest);
        Assert.Equal(1, await _bridge.Store.CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Resolving_an_emergency_alarm_releases_its_lights()
    {
        GeoPoint at = AppTestCity.Along(400);
        using HttpResponseMessage reported = await PostAsync(
            "/api/app/v1/emergencies", AppRequests.EmergencyBody(at), idempotencyKey: "e-2");
        string alarmKey = (await reported.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alarmKey").GetString()!;
        await Eventually.HoldsAsync(() => Lights(AppTestCity.EastGateway, LightModeName.Emergency).Count == 3, "emergency commands");

        Assert.Equal("open", (await GetEmergencyAsync(alarmKey)).GetProperty("state").GetString());
        using HttpResponseMessage acknowledged = await _bridge.Http.PostAsJsonAsync($"/api/alarms/{alarmKey}/ack", new { @operator = "op-1" });
        Assert.Equal(HttpStatusCode.OK, acknowledged.StatusCode);
        Assert.Equal("acknowledged", (await GetEmergencyAsync(alarmKey)).GetProperty("state").GetString());
        Assert.Empty(Lights(AppTestCity.EastGateway, LightModeName.Release));

        using HttpResponseMessage resolved = await _bridge.Http.PostAsJsonAsync($"/api/alarms/{alarmKey}/resolve", new { @operator = "op-1" });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);

        await Eventually.HoldsAsync(() => Lights(AppTestCity.EastGateway, LightModeName.Release).Count == 3, "lights released");
        Assert.Equal(Lights(AppTestCity.EastGateway, LightModeName.Emergency), Lights(AppTestCity.EastGateway, LightModeName.Release));
        await Eventually.HoldsAsync(
            async () => (await _bridge.Store.FindAsync(alarmKey, CancellationToken.None))!.Timeline.Any(t => t.Stage == "resolved-relayed"),
            "the app report's resolution counts as relayed");
        JsonElement status = await GetEmergencyAsync(alarmKey);
        Assert.Equal("resolved", status.GetProperty("state").GetString());
        Assert.NotEqual(JsonValueKind.Null, status.GetProperty("acknowledgedAt").ValueKind);

        using var foreign = new HttpRequestMessage(HttpMethod.Get, $"/api/app/v1/emergencies/{alarmKey}");
        foreign.Headers.Add("X-Api-Key", "other-" + AppTestCity.ApiKey);
        await AssertProblemAsync(await _bridge.Http.SendAsync(foreign), HttpStatusCode.NotFound);
    }

    private async Task<JsonElement> GetEmergencyAsync(string alarmKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/app/v1/emergencies/{alarmKey}");
        request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage response = await _bridge.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    [Trait("Category", "Protocol")]
    public async Task The_advertisement_is_an_escort_frame_sealed_for_the_walkers_district_and_this_minute_that_does_not_carry_the_session_handle()
    {
        string id = await StartAsync(AppTestCity.Along(0), AppTestCity.Along(100));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/app/v1/escorts/{id}/advertisement");
        request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage response = await _bridge.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement ad = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(AppTestCity.District, ad.GetProperty("area").GetString());

        // The key the district's lights hold for this rotation (the cloud bridge's default schedule).
        byte[] frame = Convert.FromHexString(ad.GetProperty("frame").GetString()!);
        uint minute = (uint)(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60);
        ushort area = ushort.Parse(AppTestCity.District, CultureInfo.InvariantCulture);
        var schedule = new EscortKeySchedule(Convert.FromHexString(AppTestCity.EscortKeyHex), TimeSpan.FromDays(1), TimeSpan.FromMinutes(10));
        EscortKeySet keys = schedule.SigningKeys(area, minute);
        var codec = new EscortFrame(new PlatformHmacSha256());
        Assert.Equal(FrameError.None, EscortFrame.Validate(frame, 0, frame.Length));
        Assert.Equal(area, EscortFrame.ReadArea(frame, 0));
        Assert.Equal(keys.Epoch, EscortFrame.ReadEpoch(frame, 0));
        Assert.Equal(FrameError.None, codec.Open(frame, 0, keys, out uint signedMinute, out uint airId));
        Assert.InRange(signedMinute, minute - 1, minute);
        Assert.Equal(codec.AirId(keys, Convert.ToUInt32(id, 16)), airId);

        // Nothing on air is the app's handle for the escort, in clear or sealed.
        Assert.NotEqual(Convert.ToUInt32(id, 16), airId);
        Assert.DoesNotContain(id.ToLowerInvariant(), ad.GetProperty("frame").GetString()!, StringComparison.Ordinal);
        byte[] advertisement = Convert.FromHexString(ad.GetProperty("advertisement").GetString()!);
        Assert.True(BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length));
        Assert.Equal(frame, advertisement.AsSpan(offset, length).ToArray());

        // Another district's key, or the master secret itself, does not open it.
        Assert.Equal(FrameError.BadTag, codec.Open(frame, 0, schedule.SigningKeys((ushort)(area + 1), minute), out _, out _));
        Assert.Equal(FrameError.BadTag, codec.Open(frame, 0, new EscortKeySet(new PlatformHmacSha256(), area, keys.Epoch, Convert.FromHexString(AppTestCity.EscortKeyHex)), out _, out _));
    }

    [Fact]
    public async Task A_silent_session_times_out_and_its_lights_are_released()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var mqtt = new FakeMqttClient();
        await using CloudBridgeHost bridge = await CloudBridgeHost.StartAsync(mqtt, AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?>
        {
            ["Escorts:SessionTimeout"] = "00:02:00",
            ["Escorts:SweepInterval"] = "00:00:05",
        }), configure: services => services.AddSingleton<TimeProvider>(clock));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/app/v1/escorts")
        {
            Content = new StringContent(AppRequests.StartBody(AppTestCity.Along(0), AppTestCity.Along(100)), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage started = await bridge.Http.SendAsync(request);
        string id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString()!;

        DateTimeOffset lastHeard = clock.GetUtcNow();
        await clock.AdvanceUntilAsync(
            TimeSpan.FromSeconds(5),
            () => mqtt.PublishedOf<LightCommandEnvelope>(Topics.GatewayCommands(AppTestCity.WestGateway)).Any(c => c.Mode == LightModeName.Release),
            "lights released after silence");
        Assert.True(clock.GetUtcNow() - lastHeard >= TimeSpan.FromMinutes(2), "released after " + (clock.GetUtcNow() - lastHeard) + " of silence");
        EscortSessionRecord session = (await bridge.Services.GetRequiredService<EscortStore>().FindAsync(uint.Parse(id, System.Globalization.NumberStyles.HexNumber, null), CancellationToken.None))!;
        Assert.Equal(EscortState.TimedOut, session.State);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_app_endpoints_with_schemas_errors_and_the_key_scheme()
    {
        JsonElement document = await _bridge.Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        JsonElement paths = document.GetProperty("paths");
        foreach ((string path, string method, string[] statuses) in new[]
        {
            ("/api/app/v1/escorts", "post", new[] { "201", "400", "401", "413", "415" }),
            ("/api/app/v1/escorts/{id}/locations", "post", ["200", "400", "401", "404", "409"]),
            ("/api/app/v1/escorts/{id}/end", "post", ["200", "400", "404", "409"]),
            ("/api/app/v1/escorts/{id}/advertisement", "get", ["200", "401", "404", "409"]),
            ("/api/app/v1/emergencies", "post", ["201", "400", "401", "422"]),
        })
        {
            JsonElement operation = paths.GetProperty(path).GetProperty(method);
            JsonElement responses = operation.GetProperty("responses");
            Assert.All(statuses, s => Assert.True(responses.TryGetProperty(s, out _), $"{method} {path} documents {s}"));
            Assert.Contains("AppApiKey", operation.GetProperty("security").ToString(), StringComparison.Ordinal);
        }

        JsonElement schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.TryGetProperty("StartEscortRequest", out _));
        Assert.True(schemas.TryGetProperty("EmergencyView", out _));
        Assert.Equal("X-Api-Key", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("AppApiKey").GetProperty("name").GetString());
    }

    private Task<string> StartAsync(GeoPoint origin, GeoPoint destination) => AppRequests.StartEscortAsync(_bridge.Http, origin, destination);

    private Task<HttpResponseMessage> PostAsync(string path, string body, string key = AppTestCity.ApiKey, string? idempotencyKey = null) =>
        AppRequests.PostAsync(_bridge.Http, path, body, key, idempotencyKey);

    private List<string> Lights(string gateway, string mode) => _mqtt.PublishedOf<LightCommandEnvelope>(Topics.GatewayCommands(gateway))
        .Where(c => c.Mode == mode).SelectMany(c => c.Lights).Distinct().Order(StringComparer.Ordinal).ToList();

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    private async Task<State> StateAsync() => new(
        await Escorts.CountSessionsAsync(CancellationToken.None),
        await Escorts.CountEmergenciesAsync(CancellationToken.None),
        await Escorts.CountTraceAsync(null, CancellationToken.None),
        await _bridge.Store.CountAsync(CancellationToken.None),
        _mqtt.Published.Count);

    /// <summary>Everything a request could change: stored sessions, reports, traces, alarms and light commands sent.</summary>
    internal sealed record State(long Sessions, long Emergencies, long Traces, long Alarms, int Commands);
}
