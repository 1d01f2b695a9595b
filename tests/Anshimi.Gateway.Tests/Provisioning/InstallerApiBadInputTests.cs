using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anshimi.Gateway.Provisioning;
using FsCheck;
using FsCheck.Fluent;

namespace Anshimi.Gateway.Tests.Provisioning;

/// <summary>
/// The installer API over real HTTP with requests no installer tool would send: each gets a 4xx with a stable
/// error code, and the registry is the same afterwards.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InstallerApiBadInputTests : IAsyncLifetime
{
    private readonly TestDevice _home = new(0x0000A1B2, 1);
    private ProvisioningRig _rig = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _rig = await ProvisioningRig.StartAsync(_home);
        _http = new HttpClient { BaseAddress = new Uri(_rig.GatewayUri), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_rig.TokenFile)).Trim());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _rig.DisposeAsync();
    }

    public static TheoryData<string, string, string?, string> Requests() => new()
    {
        { "GET", "/admin/v1/devices/xyz", null, "bad_device_id" },
        { "GET", "/admin/v1/devices/1234567890", null, "bad_device_id" },
        { "GET", "/admin/v1/devices/0000BEEF", null, "not_found" },
        { "POST", "/admin/v1/devices/0000A1B2/claim", """{"code":"ABCD"}""", "bad_claim_code" },
        { "POST", "/admin/v1/devices/0000A1B2/claim", """{"code":123}""", "bad_request" },
        { "POST", "/admin/v1/devices/0000A1B2/claim", """{"code":""", "bad_request" },
        { "POST", "/admin/v1/devices/0000A1B2/claim", "", "bad_request" },
        { "PUT", "/admin/v1/devices/0000A1B2/site", """{"kind":"home","address":"서울특별시 중구 세종대로 110","latitude":"91","longitude":"126.978","reference":"R-1"}""", "bad_site" },
        { "PUT", "/admin/v1/devices/0000A1B2/site", "[]", "bad_request" },
        { "POST", "/admin/v1/devices/0000A1B2/replace", """{"newDeviceId":"nope"}""", "bad_device_id" },
        { "GET", "/admin/v1/devices/0000A1B2/walk-test?since=99999999999999999", null, "bad_since" },
        { "GET", "/admin/v1/devices/0000A1B2/walk-test?since=-99999999999999999", null, "bad_since" },
        { "GET", "/admin/v1/devices/0000A1B2/walk-test?since=soon", null, "bad_since" },
        { "POST", "/admin/v1/registry.csv", "\"unclosed", "csv_refused" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task A_malformed_request_gets_a_4xx_with_its_error_code_and_changes_nothing(string method, string path, string? body, string error)
    {
        string before = await ExportAsync();

        using HttpResponseMessage response = await SendAsync(method, path, body);

        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.Equal(error, ErrorCode(await response.Content.ReadAsStringAsync()));
        Assert.Equal(before, await ExportAsync());
    }

    [Fact]
    public async Task Random_ids_and_bodies_never_get_a_server_error()
    {
        string before = await ExportAsync();
        Gen<string> text = Gen.Elements('{', '}', '"', ':', ',', '[', ']', 'a', '0', 'F', ' ', '\\', '가', '/', '%', '?').ArrayOf().Select(c => new string(c));
        Gen<(string Method, string Path, string Body)> request =
            from id in text
            from action in Gen.Elements("", "/claim", "/site", "/replace", "/walk-test", "/decommission")
            from method in Gen.Elements("GET", "POST", "PUT", "DELETE")
            from body in text
            select (method, "/admin/v1/devices/" + Uri.EscapeDataString(id) + action, body);

        Prop.ForAll(request.ToArbitrary(), r =>
        {
            using HttpResponseMessage response = SendAsync(r.Method, r.Path, r.Body).GetAwaiter().GetResult();
            return (int)response.StatusCode < 500;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

        Assert.Equal(before, await ExportAsync());
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, path.EndsWith(".csv", StringComparison.Ordinal) ? "text/csv" : "application/json");
        }

        return await _http.SendAsync(request);
    }

    private async Task<string> ExportAsync() => await _http.GetStringAsync(new Uri(InstallerApi.Prefix + "/registry.csv", UriKind.Relative));

    private static string? ErrorCode(string body)
    {
        using JsonDocument json = JsonDocument.Parse(body);
        return json.RootElement.TryGetProperty("error", out JsonElement error) ? error.GetString() : null;
    }
}
