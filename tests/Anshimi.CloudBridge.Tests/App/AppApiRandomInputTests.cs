using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anshimi.CloudBridge.Escorts;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.App;

/// <summary>Random JSON (and random text) at every app endpoint: always a clear 4xx, never a change.</summary>
public sealed class AppApiRandomInputTests : IAsyncLifetime
{
    private static readonly string[] Keys =
        ["origin", "destination", "route", "lat", "lon", "locations", "at", "reason", "location", "sessionId", "x", ""];

    private readonly FakeMqttClient _mqtt = new();
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("app-city-").FullName;
    private CloudBridgeHost _bridge = null!;
    private string _session = "";

    public async Task InitializeAsync()
    {
        // A long hold: no refresh may add commands while the state is compared.
        _bridge = await CloudBridgeHost.StartAsync(_mqtt, AppTestCity.Settings(_cityDirectory, new Dictionary<string, string?> { ["Escorts:HoldSeconds"] = "600" }));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/app/v1/escorts")
        {
            Content = new StringContent(AppRequests.StartBody(AppTestCity.Along(5), AppTestCity.Along(300)), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
        using HttpResponseMessage response = await _bridge.Http.SendAsync(request);
        _session = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await _bridge.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task Random_json_bodies_get_a_4xx_problem_and_change_nothing()
    {
        await Eventually.HoldsAsync(() => _mqtt.Published.Count > 0, "the walk's first commands");
        AppApiTests.State before = await StateAsync();
        string[] paths = ["/api/app/v1/escorts", $"/api/app/v1/escorts/{_session}/locations", $"/api/app/v1/escorts/{_session}/end", "/api/app/v1/emergencies"];

        Gen<string> bodies = Gen.OneOf(
            Json(3).Select(node => node?.ToJsonString() ?? "null"),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null));
        Prop.ForAll(bodies.ToArbitrary(), Gen.Elements(paths).ToArbitrary(), (string body, string path) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Api-Key", AppTestCity.ApiKey);
            request.Headers.Add("Idempotency-Key", "random-" + Guid.NewGuid().ToString("N"));
            using HttpResponseMessage response = _bridge.Http.SendAsync(request).GetAwaiter().GetResult();
            int status = (int)response.StatusCode;
            Assert.True(
                status is >= 400 and < 500 && response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                $"POST {path} {body} → {status} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

        Assert.Equal(before, await StateAsync());
        Assert.True(_bridge.Services.GetRequiredService<EscortPlanner>().IsWalking(uint.Parse(_session, System.Globalization.NumberStyles.HexNumber, null)));
    }

    /// <summary>JSON trees built from the API's own field names, with numbers, strings, booleans and nulls in every place.</summary>
    private static Gen<JsonNode?> Json(int depth)
    {
        Gen<JsonNode?> leaf = Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            ArbMap.Default.GeneratorFor<bool>().Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Choose(-200, 200).Select(i => (JsonNode?)JsonValue.Create(i)),
            ArbMap.Default.GeneratorFor<double>().Where(double.IsFinite).Select(d => (JsonNode?)JsonValue.Create(d)),
            // Near misses of valid values; an exact "arrived" would be a valid end request.
            Gen.Elements("Arrived", "cancel", "", "37.5663", "2026-11-22T21:00:00Z", "0BADCAFE").Select(s => (JsonNode?)JsonValue.Create(s)));
        if (depth == 0)
        {
            return leaf;
        }

        Gen<JsonNode?> child = Json(depth - 1);
        Gen<JsonNode?> array = Gen.ListOf(child).Select(items => (JsonNode?)new JsonArray(items.Select(i => i?.DeepClone()).ToArray()));
        Gen<JsonNode?> obj = Gen.ListOf(Gen.Zip(Gen.Elements(Keys), child)).Select(fields =>
        {
            var node = new JsonObject();
            foreach ((string key, JsonNode? value) in fields)
            {
                node[key] = value?.DeepClone();
            }

            return (JsonNode?)node;
        });
        return Gen.Frequency((2, leaf), (1, array), (3, obj));
    }

    private async Task<AppApiTests.State> StateAsync()
    {
        EscortStore escorts = _bridge.Services.GetRequiredService<EscortStore>();
        return new(
            await escorts.CountSessionsAsync(CancellationToken.None),
            await escorts.CountEmergenciesAsync(CancellationToken.None),
            await escorts.CountTraceAsync(null, CancellationToken.None),
            await _bridge.Store.CountAsync(CancellationToken.None),
            _mqtt.Published.Count);
    }
}
