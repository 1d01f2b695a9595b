using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Escorts;

namespace Anshimi.CloudBridge.Tests.App;

/// <summary>The app back end's calls as tests make them: request bodies, and the happy-path calls that must succeed.</summary>
public static class AppRequests
{
    public static string StartBody(GeoPoint origin, GeoPoint destination, GeoPoint[]? route = null) => JsonSerializer.Serialize(new
    {
        origin = new { lat = origin.Latitude, lon = origin.Longitude },
        destination = new { lat = destination.Latitude, lon = destination.Longitude },
        route = route?.Select(p => new { lat = p.Latitude, lon = p.Longitude }),
    });

    public static string EmergencyBody(GeoPoint at) => JsonSerializer.Serialize(new { location = new { lat = at.Latitude, lon = at.Longitude } });

    public static string Locations(params GeoPoint[] points) => JsonSerializer.Serialize(new
    {
        locations = points.Select((p, i) => new { lat = p.Latitude, lon = p.Longitude, at = DateTimeOffset.UtcNow.AddSeconds(i - points.Length) }),
    });

    /// <summary>POSTs JSON with the app's key (and an <c>Idempotency-Key</c> when given); the caller checks the answer.</summary>
    public static async Task<HttpResponseMessage> PostAsync(
        HttpClient http, string path, string body, string key = AppTestCity.ApiKey, string? idempotencyKey = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Api-Key", key);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Starts an escort without a route; returns its session id (8 hex digits).</summary>
    public static async Task<string> StartEscortAsync(HttpClient http, GeoPoint origin, GeoPoint destination)
    {
        using HttpResponseMessage response = await PostAsync(http, "/api/app/v1/escorts", StartBody(origin, destination));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessionId").GetString()!;
    }

    public static async Task MoveAsync(HttpClient http, string sessionId, params GeoPoint[] points)
    {
        using HttpResponseMessage response = await PostAsync(http, $"/api/app/v1/escorts/{sessionId}/locations", Locations(points));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static async Task EndEscortAsync(HttpClient http, string sessionId)
    {
        using HttpResponseMessage response = await PostAsync(http, $"/api/app/v1/escorts/{sessionId}/end", """{"reason":"arrived"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Reports an emergency; returns the report (<c>alarmKey</c>, <c>lights</c>, ...).</summary>
    public static async Task<JsonElement> ReportEmergencyAsync(HttpClient http, GeoPoint at, string idempotencyKey)
    {
        using HttpResponseMessage response = await PostAsync(http, "/api/app/v1/emergencies", EmergencyBody(at), idempotencyKey: idempotencyKey);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
