using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Anshimi.DeviceSim;

/// <summary>
/// Stands in for the Anshimi app's back end against the cloud bridge's app API: a resident walks home under
/// return-home monitoring (귀가모니터링) along a route (a straight line, or pole to pole through a fleet's streetlights,
/// <see cref="WalkRoute"/>), reporting the phone's location at a steady pace, or reports an emergency (긴급신고). What
/// the API answers is printed as it comes.
/// </summary>
public sealed class AppWalker(HttpClient cloud, TextWriter output)
{
    private const string Prefix = "api/app/v1/";

    public static HttpClient Client(Uri cloud, string apiKey)
    {
        var client = new HttpClient { BaseAddress = cloud, Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    /// <summary>
    /// Walks the <paramref name="route"/> (its first point the origin, its last the destination, sent as the planned
    /// route) at <paramref name="metresPerSecond"/>, one location every <paramref name="every"/>.
    /// </summary>
    public async Task<int> WalkAsync(IReadOnlyList<(double Lat, double Lon)> route, double metresPerSecond, TimeSpan every, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentOutOfRangeException.ThrowIfLessThan(route.Count, 2);
        double metres = WalkRoute.Length(route);
        using HttpResponseMessage started = await cloud.PostAsJsonAsync(
            Prefix + "escorts", new { origin = Point(route[0]), destination = Point(route[^1]), route = route.Select(Point).ToArray() }, cancellationToken);
        if (!await SucceededAsync(started, cancellationToken))
        {
            return 1;
        }

        string session = (await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("sessionId").GetString()!;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"귀가모니터링 시작 return-home monitoring started: session {session}, {metres:F0} m at {metresPerSecond:F1} m/s"));
        DateTimeOffset start = DateTimeOffset.UtcNow;
        double walked = 0;
        while (walked < metres)
        {
            await Task.Delay(every, cancellationToken);
            walked = Math.Min(metres, (DateTimeOffset.UtcNow - start).TotalSeconds * metresPerSecond);
            (double lat, double lon) = WalkRoute.PointAt(route, walked);
            using HttpResponseMessage moved = await cloud.PostAsJsonAsync(
                Prefix + "escorts/" + session + "/locations", new { locations = new[] { new { lat, lon, at = DateTimeOffset.UtcNow } } }, cancellationToken);
            if (!await SucceededAsync(moved, cancellationToken))
            {
                return 1;
            }

            int lit = (await moved.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("litLights").GetInt32();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {walked,5:F0} m  ({lat:F6}, {lon:F6})  켜진 보안등 lights lit for the walker: {lit}"));
        }

        using HttpResponseMessage ended = await cloud.PostAsJsonAsync(Prefix + "escorts/" + session + "/end", new { reason = "arrived" }, cancellationToken);
        if (!await SucceededAsync(ended, cancellationToken))
        {
            return 1;
        }

        output.WriteLine("도착 arrived: 보안등이 일정으로 돌아갑니다 the lights go back to their schedule");
        return 0;
    }

    /// <summary>An emergency report at (lat, lon); prints the alarm it opened and the lights set blinking.</summary>
    public async Task<int> ReportEmergencyAsync((double Lat, double Lon) at, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Prefix + "emergencies") { Content = JsonContent.Create(new { location = Point(at) }) };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        using HttpResponseMessage reported = await cloud.SendAsync(request, cancellationToken);
        if (!await SucceededAsync(reported, cancellationToken))
        {
            return 1;
        }

        output.WriteLine("긴급신고 접수 emergency reported: " + await reported.Content.ReadAsStringAsync(cancellationToken));
        return 0;
    }

    private static object Point((double Lat, double Lon) p) => new { lat = p.Lat, lon = p.Lon };

    private async Task<bool> SucceededAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return true;
        }

        output.WriteLine("클라우드 거부 the cloud bridge refused: " + (int)response.StatusCode + " " + await response.Content.ReadAsStringAsync(cancellationToken));
        return false;
    }
}
