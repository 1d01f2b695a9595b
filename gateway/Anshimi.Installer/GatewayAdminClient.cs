using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Installer;

/// <summary>A registry row as the gateway's installer API returns it (no key).</summary>
public sealed record DeviceInfo(
    string DeviceId,
    string State,
    string Profile,
    string? FirmwareVersion,
    SiteInfo Site,
    string? DistrictCode,
    string? SiteReference,
    DateTimeOffset? LastSeen,
    DateTimeOffset? ClaimedAt,
    string? ReplacedBy,
    NeighbourhoodInfo? Neighbourhood = null);

/// <summary>The 행정동 of a bound site (code, own name, full name), when the gateway knows the boundaries.</summary>
public sealed record NeighbourhoodInfo(string Code, string NameKo, string FullNameKo);

/// <summary>A device's latest firmware state report, as the gateway relayed it to the cloud's console.</summary>
public sealed record FirmwareInfo(
    string DeviceId, string? RunningVersion, string State, string? Reason, string? ReleaseId, string? RolloutId, int ChunksDone, int ChunkCount, DateTimeOffset At);

public sealed record UnclaimedInfo(string DeviceId, string Profile, string FirmwareVersion, DateTimeOffset HeardAt);

public sealed record WalkTestStart(DateTimeOffset Since, DateTimeOffset Until);

public sealed record RekeyStart(string DeviceId, int Epoch);

public sealed record WalkTestAlarmInfo(uint Counter, int EventCode, DateTimeOffset At, bool Test);

public sealed record WalkTestInfo(string DeviceId, bool Running, DateTimeOffset? Until, IReadOnlyList<WalkTestAlarmInfo> Alarms);

/// <summary>One problem the gateway found: a field, or a CSV row and column.</summary>
public sealed record ProblemInfo(int? Row, string? Column, string? Field, string Code, string Message);

/// <summary>The gateway said no: its error code, message and any field or row problems.</summary>
public sealed class GatewayRefusal(HttpStatusCode status, string code, string message, IReadOnlyList<ProblemInfo> problems) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    public IReadOnlyList<ProblemInfo> Problems { get; } = problems;
}

/// <summary>The gateway's local installer API (<c>/admin/v1</c>) with the admin token.</summary>
public sealed class GatewayAdminClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    public GatewayAdminClient(Uri gateway, string token)
    {
        _http = new HttpClient { BaseAddress = new Uri(gateway, "admin/v1/"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<List<UnclaimedInfo>> UnclaimedAsync(CancellationToken ct) => SendAsync<List<UnclaimedInfo>>(HttpMethod.Get, "unclaimed", null, ct);

    public Task<List<DeviceInfo>> DevicesAsync(CancellationToken ct) => SendAsync<List<DeviceInfo>>(HttpMethod.Get, "devices", null, ct);

    public Task<List<FirmwareInfo>> FirmwareAsync(CancellationToken ct) => SendAsync<List<FirmwareInfo>>(HttpMethod.Get, "firmware", null, ct);

    public Task<DeviceInfo> DeviceAsync(string id, CancellationToken ct) => SendAsync<DeviceInfo>(HttpMethod.Get, "devices/" + id, null, ct);

    public Task<DeviceInfo> ClaimAsync(string id, string code, string? key, CancellationToken ct) =>
        SendAsync<DeviceInfo>(HttpMethod.Post, "devices/" + id + "/claim", JsonContent.Create(new { code, key }), ct);

    public Task<DeviceInfo> BindAsync(string id, string kind, string address, string latitude, string longitude, string reference, CancellationToken ct) =>
        SendAsync<DeviceInfo>(HttpMethod.Put, "devices/" + id + "/site", JsonContent.Create(new { kind, address, latitude, longitude, reference }), ct);

    public Task<WalkTestStart> StartWalkTestAsync(string id, CancellationToken ct) => SendAsync<WalkTestStart>(HttpMethod.Post, "devices/" + id + "/walk-test", null, ct);

    public Task<WalkTestInfo> WalkTestAsync(string id, DateTimeOffset since, CancellationToken ct) =>
        SendAsync<WalkTestInfo>(HttpMethod.Get, "devices/" + id + "/walk-test?since=" + since.ToUnixTimeMilliseconds(), null, ct);

    public async Task EndWalkTestAsync(string id, CancellationToken ct) => await SendRawAsync(HttpMethod.Delete, "devices/" + id + "/walk-test", null, ct);

    public Task<DeviceInfo> ReplaceAsync(string oldId, string newId, CancellationToken ct) =>
        SendAsync<DeviceInfo>(HttpMethod.Post, "devices/" + oldId + "/replace", JsonContent.Create(new { newDeviceId = newId }), ct);

    public Task<RekeyStart> RekeyAsync(string id, CancellationToken ct) => SendAsync<RekeyStart>(HttpMethod.Post, "devices/" + id + "/rekey", null, ct);

    public Task<DeviceInfo> DecommissionAsync(string id, CancellationToken ct) => SendAsync<DeviceInfo>(HttpMethod.Post, "devices/" + id + "/decommission", null, ct);

    public async Task<string> ExportCsvAsync(CancellationToken ct) => await SendRawAsync(HttpMethod.Get, "registry.csv", null, ct);

    public async Task<int> ImportCsvAsync(string csv, CancellationToken ct)
    {
        using JsonDocument answer = JsonDocument.Parse(await SendRawAsync(HttpMethod.Post, "registry.csv", new StringContent(csv, Encoding.UTF8, "text/csv"), ct));
        return answer.RootElement.GetProperty("imported").GetInt32();
    }

    public void Dispose() => _http.Dispose();

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? body, CancellationToken ct) =>
        JsonSerializer.Deserialize<T>(await SendRawAsync(method, path, body, ct), Json) ?? throw new HttpRequestException("empty answer from the gateway");

    private async Task<string> SendRawAsync(HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body };
        using HttpResponseMessage response = await _http.SendAsync(request, ct);
        string text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
        {
            return text;
        }

        string code = "http_" + (int)response.StatusCode;
        string message = text.Length > 0 ? text : "HTTP " + (int)response.StatusCode + " " + response.ReasonPhrase;
        var problems = new List<ProblemInfo>();
        try
        {
            using JsonDocument error = JsonDocument.Parse(text);
            code = error.RootElement.GetProperty("error").GetString() ?? code;
            message = error.RootElement.GetProperty("message").GetString() ?? message;
            if (error.RootElement.TryGetProperty("problems", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
            {
                problems.AddRange(list.EnumerateArray().Select(p => p.Deserialize<ProblemInfo>(Json)!));
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Not one of the API's error bodies (a proxy, an old gateway): report status and text.
        }

        throw new GatewayRefusal(response.StatusCode, code, message, problems);
    }
}
