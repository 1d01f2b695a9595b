using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Map;

/// <summary>
/// The map's escort and streetlight layers over real HTTP, on <see cref="AppTestCity"/>'s street of 20 lights in 중구
/// (11140), with escorts and emergencies started through the app API as the app back end would.
/// </summary>
public sealed class MapLayersApiTests : IAsyncLifetime
{
    private const string Idle = "idle";

    private readonly FakeMqttClient _mqtt = new();
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("map-city-").FullName;
    private CloudBridgeHost _bridge = null!;

    public async Task InitializeAsync()
    {
        // A long hold: no refresh adds commands while a test compares states.
        Dictionary<string, string?> settings = AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?> { ["Escorts:HoldSeconds"] = "600" });
        TestOperators.AddExtraSeed(settings, TestOperators.Junggu);
        _bridge = await CloudBridgeHost.StartAsync(_mqtt, settings);
    }

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task An_escort_is_shown_at_its_last_position_rounded_in_its_district_and_its_lights_are_escort()
    {
        Assert.Empty((await LayersAsync(_bridge.Http))["escorts"]);
        Assert.Equal(States(), LightStates(await LayersAsync(_bridge.Http)));

        string id = await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(5), AppTestCity.Along(570));
        GeoPoint at = AppTestCity.Along(95);
        await AppRequests.MoveAsync(_bridge.Http, id, at);

        Dictionary<string, List<JsonElement>> layers = await LayersAsync(_bridge.Http);
        JsonElement escort = Assert.Single(layers["escorts"]);
        Assert.Equal(id, escort.GetProperty("id").GetString());
        Assert.Equal(Math.Round(at.Latitude, 4), escort.GetProperty("lat").GetDouble());
        Assert.Equal(Math.Round(at.Longitude, 4), escort.GetProperty("lon").GetDouble());
        Assert.NotEqual(at.Longitude, escort.GetProperty("lon").GetDouble());
        Assert.Equal(TestOperators.JungguCode, escort.GetProperty("districtCode").GetString());
        Assert.Equal("escort", escort.GetProperty("state").GetString());

        // Within 30 m of the walker (90 m, 120 m) and along the next 60 m of its heading east (150 m).
        Assert.Equal(States((LightModeName.Escort, [3, 4, 5])), LightStates(layers));
    }

    [Fact]
    public async Task An_emergency_blinks_its_nearest_lights_over_an_escort_and_resolving_it_gives_the_walker_its_lights_back()
    {
        await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(95), AppTestCity.Along(570));
        Assert.Equal(States((LightModeName.Escort, [3, 4])), LightStates(await LayersAsync(_bridge.Http)));

        JsonElement report = await AppRequests.ReportEmergencyAsync(_bridge.Http, AppTestCity.Along(95), "map-emergency-1");

        Assert.Equal(States((LightModeName.Emergency, [2, 3, 4])), LightStates(await LayersAsync(_bridge.Http)));

        string alarmKey = report.GetProperty("alarmKey").GetString()!;
        using HttpResponseMessage resolved = await _bridge.Http.PostAsync(new Uri($"/api/alarms/{alarmKey}/resolve", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        Dictionary<string, string> afterwards = States((LightModeName.Escort, [3, 4]));
        await Eventually.HoldsAsync(
            async () => LightStates(await LayersAsync(_bridge.Http)).ToHashSet().SetEquals(afterwards),
            "the emergency's lights back to the walker's escort, the third idle");
        Assert.Equal(afterwards, LightStates(await LayersAsync(_bridge.Http)));
    }

    [Fact]
    public async Task An_operator_sees_escorts_and_lights_of_their_own_district_only()
    {
        string id = await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(95), AppTestCity.Along(570));
        await AppRequests.ReportEmergencyAsync(_bridge.Http, AppTestCity.Along(400), "map-emergency-2");
        Dictionary<string, string> expected = States((LightModeName.Escort, [3, 4]), (LightModeName.Emergency, [12, 13, 14]));

        using HttpClient junggu = await _bridge.SignedInAsync(TestOperators.Junggu);
        Dictionary<string, List<JsonElement>> own = await LayersAsync(junggu);
        Assert.Equal(id, Assert.Single(own["escorts"]).GetProperty("id").GetString());
        Assert.Equal(expected, LightStates(own));
        Assert.Equal(expected, LightStates(await LayersAsync(_bridge.Http)));

        foreach (TestOperator elsewhere in new[] { TestOperators.Gangnam, TestOperators.Jongno })
        {
            using HttpClient client = await _bridge.SignedInAsync(elsewhere);
            Dictionary<string, List<JsonElement>> layers = await LayersAsync(client);
            Assert.Empty(layers["escorts"]);
            Assert.Empty(layers["lights"]);
        }
    }

    [Fact]
    public async Task Ending_the_session_removes_its_marker_and_releases_its_lights()
    {
        string id = await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(5), AppTestCity.Along(570));
        await AppRequests.MoveAsync(_bridge.Http, id, AppTestCity.Along(95));
        Dictionary<string, List<JsonElement>> before = await LayersAsync(_bridge.Http);
        Assert.Equal(id, Assert.Single(before["escorts"]).GetProperty("id").GetString());
        Assert.Equal(States((LightModeName.Escort, [3, 4, 5])), LightStates(before));

        await AppRequests.EndEscortAsync(_bridge.Http, id);

        Dictionary<string, List<JsonElement>> layers = await LayersAsync(_bridge.Http);
        Assert.Empty(layers["escorts"]);
        Assert.Equal(States(), LightStates(layers));
    }

    [Fact]
    public async Task A_lamp_fault_from_the_gateway_shows_over_escort_and_an_unconfirmed_command_shows_failed_until_a_newer_confirmation()
    {
        await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(95), AppTestCity.Along(570));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string events = TestAlarms.EventsTopic(AppTestCity.WestGateway);

        await _bridge.InjectAsync(events, LightStatus(4, lampFault: true, now));
        await _bridge.InjectAsync(events, Outcome(9, LightOutcomeName.Expired, now));
        await _bridge.InjectAsync(events, Outcome(8, LightOutcomeName.Confirmed, now));

        Assert.Equal(States((LightModeName.Escort, [3]), ("fault", [4]), ("failed", [9])), LightStates(await LayersAsync(_bridge.Http)));
        JsonElement lampFault = Assert.Single((await _bridge.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/health", UriKind.Relative))).GetProperty("lampFaults").EnumerateArray());
        Assert.Equal(AppTestCity.LightId(4), lampFault.GetProperty("deviceId").GetString());

        await _bridge.InjectAsync(events, LightStatus(4, lampFault: false, now.AddSeconds(1)));
        await _bridge.InjectAsync(events, Outcome(9, LightOutcomeName.Confirmed, now.AddSeconds(1)));

        Assert.Equal(States((LightModeName.Escort, [3, 4])), LightStates(await LayersAsync(_bridge.Http)));
    }

    [Fact]
    public async Task The_city_view_fetches_only_lights_doing_something_and_a_zoomed_view_only_what_lies_in_its_box()
    {
        string id = await AppRequests.StartEscortAsync(_bridge.Http, AppTestCity.Along(5), AppTestCity.Along(570));
        await AppRequests.MoveAsync(_bridge.Http, id, AppTestCity.Along(95));

        Dictionary<string, List<JsonElement>> busy = await LayersAsync(_bridge.Http, "?idle=false");
        Assert.Equal(States((LightModeName.Escort, [3, 4, 5])).Where(s => s.Value != Idle).ToDictionary(), LightStates(busy));
        Assert.Equal(3, busy["lights"].Count);
        Assert.Single(busy["escorts"]);

        // A box around lights 8 to 11 (240–330 m along the street), away from the walker.
        GeoPoint from = AppTestCity.Along(8 * AppTestCity.Spacing - 5), to = AppTestCity.Along(11 * AppTestCity.Spacing + 5);
        string box = FormattableString.Invariant(
            $"?bbox={Math.Min(from.Longitude, to.Longitude)},{Math.Min(from.Latitude, to.Latitude) - 0.0001},{Math.Max(from.Longitude, to.Longitude)},{Math.Max(from.Latitude, to.Latitude) + 0.0001}");
        Dictionary<string, List<JsonElement>> zoomed = await LayersAsync(_bridge.Http, box);
        Assert.Equal([AppTestCity.LightId(8), AppTestCity.LightId(9), AppTestCity.LightId(10), AppTestCity.LightId(11)],
            zoomed["lights"].Select(m => m.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
        Assert.Empty(zoomed["escorts"]);
    }

    [Theory]
    [InlineData("?bbox=126.9,37.5,126.8,37.6")]
    [InlineData("?bbox=126.9,37.5,127.0")]
    [InlineData("?bbox=west,37.5,127.0,37.6")]
    [InlineData("?bbox=NaN,37.5,127.0,37.6")]
    public async Task A_bad_box_is_refused_with_a_problem_naming_it(string query)
    {
        using HttpResponseMessage response = await _bridge.Http.GetAsync(new Uri("/api/map/layers" + query, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bbox", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Every light of the street: idle unless named.</summary>
    private static Dictionary<string, string> States(params (string State, int[] Lights)[] named)
    {
        var states = Enumerable.Range(0, AppTestCity.LightCount).ToDictionary(AppTestCity.LightId, _ => Idle);
        foreach ((string state, int[] lights) in named)
        {
            foreach (int light in lights)
            {
                states[AppTestCity.LightId(light)] = state;
            }
        }

        return states;
    }

    private static Dictionary<string, string> LightStates(Dictionary<string, List<JsonElement>> layers)
    {
        Assert.All(layers["lights"], l => Assert.Equal("11140", l.GetProperty("districtCode").GetString()));
        return layers["lights"].ToDictionary(l => l.GetProperty("id").GetString()!, l => l.GetProperty("state").GetString()!);
    }

    private static async Task<Dictionary<string, List<JsonElement>>> LayersAsync(HttpClient client, string query = "")
    {
        JsonElement layers = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/map/layers" + query, UriKind.Relative));
        return layers.EnumerateArray().ToDictionary(l => l.GetProperty("layer").GetString()!, l => l.GetProperty("markers").EnumerateArray().ToList());
    }

    private static DeviceStatusEnvelope LightStatus(int light, bool lampFault, DateTimeOffset at)
    {
        GeoPoint place = AppTestCity.Along(light * AppTestCity.Spacing);
        return new DeviceStatusEnvelope(
            AppTestCity.WestGateway, AppTestCity.LightId(light), "streetlight", new SiteInfo("street", place.Latitude, place.Longitude, ""), null,
            new DeviceHealth(false, false, false, false, lampFault, null), at, at);
    }

    private static LightOutcomeEnvelope Outcome(int light, string outcome, DateTimeOffset at) =>
        new("lc-" + light, AppTestCity.WestGateway, AppTestCity.LightId(light), LightModeName.Escort, outcome, at);
}
