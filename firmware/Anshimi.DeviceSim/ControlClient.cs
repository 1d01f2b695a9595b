using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Anshimi.DeviceSim;

/// <summary>The <c>press</c>, <c>escort</c> and <c>status</c> commands: talk to a running simulator's control API.</summary>
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
            BellStatus? status = await _http.GetFromJsonAsync<BellStatus>("devices/" + Uri.EscapeDataString(id), SimJson.Options, cancellationToken);
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

    /// <summary>A walker with the app passes the light; follows its mode until it escorts or the wait ends.</summary>
    public async Task<int> EscortAsync(string id, int seconds, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.PostAsync("lights/" + Uri.EscapeDataString(id) + "/escort?seconds=" + seconds, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        output.WriteLine(id + ": 보행자가 " + seconds + "초 동안 지나갑니다 (walker passing for " + seconds + " s)");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, cancellationToken);
            LightStatus? status = await _http.GetFromJsonAsync<LightStatus>("lights/" + Uri.EscapeDataString(id), SimJson.Options, cancellationToken);
            if (status?.Mode == "escort")
            {
                output.WriteLine(id + ": 귀가 동행 점등 escort mode, level " + status.Level + " %");
                return 0;
            }
        }

        output.WriteLine(id + ": 귀가 모드로 바뀌지 않았습니다 (the light did not enter escort mode)");
        return 2;
    }

    /// <summary>Changes a simulated part (speak, tamper, mains, battery) and prints what the bell reports a moment later.</summary>
    public async Task<int> ChangeAsync(string id, string action, string query, CancellationToken cancellationToken)
    {
        string path = "devices/" + Uri.EscapeDataString(id);
        using HttpResponseMessage response = await _http.PostAsync(path + "/" + action + "?" + query, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        ChangeResult? change = await response.Content.ReadFromJsonAsync<ChangeResult>(SimJson.Options, cancellationToken);
        output.WriteLine(id + ": " + change?.Change);
        return 0;
    }

    public async Task<int> StatusAsync(string? id, CancellationToken cancellationToken)
    {
        if (id is null)
        {
            await PrintLightsAsync(cancellationToken);
        }
        else
        {
            using HttpResponseMessage light = await _http.GetAsync("lights/" + Uri.EscapeDataString(id), cancellationToken);
            if (light.IsSuccessStatusCode)
            {
                Print([(await light.Content.ReadFromJsonAsync<LightStatus>(SimJson.Options, cancellationToken))!]);
                return 0;
            }
        }

        string path = id is null ? "devices" : "devices/" + Uri.EscapeDataString(id);
        using HttpResponseMessage response = await _http.GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return await FailAsync(response, cancellationToken);
        }

        BellStatus[] devices = id is null
            ? await response.Content.ReadFromJsonAsync<BellStatus[]>(SimJson.Options, cancellationToken) ?? []
            : [(await response.Content.ReadFromJsonAsync<BellStatus>(SimJson.Options, cancellationToken))!];
        output.WriteLine("장치 device  종류 profile  연결 link  경보 alarms(대기 pending)  LED  지역 district  이상 troubles");
        foreach (BellStatus d in devices)
        {
            string link = d.Profile == "battery" ? (d.Asleep ? "절전 asleep " : "BLE        ") : d.Connected ? "연결 online " : "끊김 offline";
            output.WriteLine(d.Id + "  " + d.Profile + "  " + link + "  " + d.AlarmsRaised + "(" + d.PendingAlarms + ")  "
                + SimJson.LedLabel(d.Led) + "  " + d.District + Troubles(d) + (d.LastError is null ? "" : "  [" + d.LastError + "]"));
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

    private async Task PrintLightsAsync(CancellationToken cancellationToken)
    {
        LightStatus[] lights = await _http.GetFromJsonAsync<LightStatus[]>("lights", SimJson.Options, cancellationToken) ?? [];
        if (lights.Length > 0)
        {
            Print(lights);
        }
    }

    private void Print(LightStatus[] lights)
    {
        output.WriteLine("보안등 light  모드 mode  밝기 level  램프 lamp  비콘 beacon  거부 rejected  지역 district");
        foreach (LightStatus l in lights)
        {
            int rejected = l.Rejected.Forged + l.Rejected.Replayed + l.Rejected.Stale + l.Rejected.WrongArea + l.Rejected.StaleEpoch + l.Rejected.Malformed;
            output.WriteLine(l.Id + "  " + SimJson.ModeLabel(l.Mode) + "  " + l.Level + " %  " + (l.LampFault ? "고장 fault" : "정상 ok") + "  #"
                + l.BeaconCounter + "  " + rejected + "  " + l.District);
        }
    }

    private static string Troubles(BellStatus d) =>
        (d.TamperOpen ? "  덮개 열림 tamper" : "") + (d.MainsLost ? "  정전 mains lost" : "") + (d.BatteryLow ? "  배터리 부족 low battery" : "")
        + (d.BatteryPercent is int percent ? "  배터리 battery " + percent + "%" : "");

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
