using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Anshimi.DeviceSim;

/// <summary>The <c>press</c> and <c>status</c> commands: talk to a running simulator's control API.</summary>
public sealed class ControlClient(IPEndPoint endpoint, TextWriter output) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri("http://" + endpoint + "/"), Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Presses, then follows the LED until the gateway confirms, the operator answers or the wait ends.</summary>
    public async Task<int> PressAsync(string id, int holdMs, TimeSpan follow, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync("devices/" + Uri.EscapeDataString(id) + "/press?holdMs=" + holdMs, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        output.WriteLine(id + ": 버튼을 " + holdMs + " ms 눌렀습니다 (button held " + holdMs + " ms)");
        string? shown = null;
        var deadline = DateTime.UtcNow + follow + TimeSpan.FromMilliseconds(holdMs);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, cancellationToken);
            DeviceStatus? status = await _http.GetFromJsonAsync<DeviceStatus>("devices/" + Uri.EscapeDataString(id), SimJson.Options, cancellationToken);
            if (status is null || status.Led == shown)
            {
                continue;
            }

            shown = status.Led;
            output.WriteLine(id + ": LED " + SimJson.LedLabel(status.Led) + ", 대기 경보 pending alarms " + status.PendingAlarms);
            if (status.Led is "received" or "acknowledged")
            {
                return 0;
            }
        }

        output.WriteLine(id + ": 게이트웨이 수신 확인 없음 — 벨은 계속 재전송합니다 (no gateway receipt yet; the bell keeps resending)");
        return 2;
    }

    public async Task<int> StatusAsync(string? id, CancellationToken cancellationToken)
    {
        string path = id is null ? "devices" : "devices/" + Uri.EscapeDataString(id);
        using HttpResponseMessage response = await _http.GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        DeviceStatus[] devices = id is null
            ? await response.Content.ReadFromJsonAsync<DeviceStatus[]>(SimJson.Options, cancellationToken) ?? []
            : [(await response.Content.ReadFromJsonAsync<DeviceStatus>(SimJson.Options, cancellationToken))!];
        output.WriteLine("장치 device  연결 link  경보 alarms(대기 pending)  LED  지역 district");
        foreach (DeviceStatus d in devices)
        {
            output.WriteLine(d.Id + "  " + (d.Connected ? "연결 online " : "끊김 offline") + "  " + d.AlarmsRaised + "(" + d.PendingAlarms + ")  "
                + SimJson.LedLabel(d.Led) + "  " + d.District + (d.LastError is null ? "" : "  [" + d.LastError + "]"));
        }

        return 0;
    }

    /// <summary>A doorbell action (<c>ring</c>, <c>motion?state=start</c>, …): posts it and prints what was done.</summary>
    public async Task<int> DoorbellAsync(string id, string action, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync("devices/" + Uri.EscapeDataString(id) + "/" + action, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        DoorbellActionResult? done = await response.Content.ReadFromJsonAsync<DoorbellActionResult>(SimJson.Options, cancellationToken);
        output.WriteLine(id + ": " + done?.Action + " 완료 done");
        return 0;
    }

    public void Dispose() => _http.Dispose();

    private async Task<int> FailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string detail;
        try
        {
            detail = (await response.Content.ReadFromJsonAsync<ErrorBody>(SimJson.Options, cancellationToken))?.Error ?? "";
        }
        catch (JsonException)
        {
            detail = "";
        }

        output.WriteLine("요청 실패 request failed: " + (int)response.StatusCode + " " + detail);
        return response.StatusCode == HttpStatusCode.NotFound ? 3 : 1;
    }
}
