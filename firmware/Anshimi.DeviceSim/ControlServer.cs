using System.Net;
using System.Text.Json;
using Anshimi.Geo;

namespace Anshimi.DeviceSim;

/// <summary>
/// The simulator's local control API: <c>GET /devices</c>, <c>GET /devices/{id}</c> and
/// <c>POST /devices/{id}/press[?holdMs=2000]</c> for bells; <c>GET /lights</c>, <c>GET /lights/{id}</c>,
/// <c>POST /lights/{id}/escort[?seconds=60]</c> and <c>POST /lights/{id}/lamp?broken=true|false</c> for streetlights;
/// JSON in and out, loopback only.
/// </summary>
public sealed class ControlServer : IDisposable
{
    public const int DefaultHoldMs = 2000;

    private readonly SimulatedFleet _fleet;
    private readonly SeoulDistricts? _districts;
    private readonly HttpListener _listener = new();

    public ControlServer(SimulatedFleet fleet, SeoulDistricts? districts, IPEndPoint endpoint)
    {
        _fleet = fleet;
        _districts = districts;
        _listener.Prefixes.Add("http://" + endpoint + "/");
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        _listener.Start();
        using CancellationTokenRegistration registration = stopping.Register(_listener.Stop);
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException && stopping.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => Handle(context), CancellationToken.None);
        }
    }

    public void Dispose() => ((IDisposable)_listener).Dispose();

    private void Handle(HttpListenerContext context)
    {
        try
        {
            (int status, object body) = Route(context.Request);
            Respond(context.Response, status, body);
        }
        catch (HttpListenerException)
        {
            // The caller went away; nothing to answer.
        }
    }

    private (int Status, object Body) Route(HttpListenerRequest request)
    {
        string[] parts = (request.Url?.AbsolutePath ?? "/").Trim('/').Split('/');
        if (parts.Length > 0 && parts[0] == "lights")
        {
            return RouteLight(request, parts);
        }

        if (parts.Length == 0 || parts[0] != "devices")
        {
            return (404, new ErrorBody("no such resource; try /devices or /lights"));
        }

        if (parts.Length == 1)
        {
            return request.HttpMethod == "GET"
                ? (200, _fleet.Devices.Select(d => (object)d.Status(DistrictName(d))).Concat(_fleet.Doorbells.Select(d => d.Status(DistrictName(d.Record.DistrictCode)))).ToArray())
                : (405, new ErrorBody("GET only"));
        }

        if (parts.Length <= 3 && _fleet.FindDoorbell(parts[1]) is SimulatedDoorbell doorbell)
        {
            return DoorbellRoutes.Route(doorbell, parts.Length == 3 ? parts[2] : null, request, DistrictName(doorbell.Record.DistrictCode));
        }

        SimulatedDevice? device = parts.Length <= 3 ? _fleet.Find(parts[1]) : null;
        if (device is null)
        {
            return (404, new ErrorBody("unknown device: " + parts[1]));
        }

        if (parts.Length == 2)
        {
            return request.HttpMethod == "GET" ? (200, device.Status(DistrictName(device))) : (405, new ErrorBody("GET only"));
        }

        if (request.HttpMethod != "POST")
        {
            return (405, new ErrorBody("POST only"));
        }

        return parts[2] switch
        {
            "press" => Press(device, request),
            "speak" => Speak(device, request),
            "tamper" => Tamper(device, request),
            "mains" => Mains(device, request),
            "battery" => Battery(device, request),
            _ => (404, new ErrorBody("no such resource; try /devices/{id}/press, speak, tamper, mains or battery")),
        };
    }

    private static (int Status, object Body) Press(SimulatedDevice device, HttpListenerRequest request)
    {
        int holdMs = DefaultHoldMs;
        string? holdText = request.QueryString["holdMs"];
        if (holdText is not null && (!int.TryParse(holdText, out holdMs) || holdMs < 1 || holdMs > 60_000))
        {
            return (400, new ErrorBody("holdMs must be 1–60000"));
        }

        device.Press(holdMs);
        return (202, new PressResult(device.Record.DeviceId, holdMs));
    }

    private static (int Status, object Body) Speak(SimulatedDevice device, HttpListenerRequest request)
    {
        if (!device.HasVoice)
        {
            return (409, new ErrorBody("not a voice bell: " + device.Record.Profile));
        }

        if (!byte.TryParse(request.QueryString["command"], out byte command) || command == 0)
        {
            return (400, new ErrorBody("command must be the voice module's command id 1–255 (5 help, 6 code word)"));
        }

        device.Speak(command);
        return (202, new ChangeResult(device.Record.DeviceId, "spoke " + command));
    }

    private static (int Status, object Body) Tamper(SimulatedDevice device, HttpListenerRequest request)
    {
        if (!device.HasTamper)
        {
            return (409, new ErrorBody("this bell has no lid switch"));
        }

        if (!bool.TryParse(request.QueryString["open"], out bool open))
        {
            return (400, new ErrorBody("open must be true or false"));
        }

        device.SetTamper(open);
        return (202, new ChangeResult(device.Record.DeviceId, open ? "lid opened" : "lid closed"));
    }

    private static (int Status, object Body) Mains(SimulatedDevice device, HttpListenerRequest request)
    {
        if (!device.HasMainsSense)
        {
            return (409, new ErrorBody("this bell's board has no mains sense: " + device.Record.Profile));
        }

        if (!bool.TryParse(request.QueryString["on"], out bool on))
        {
            return (400, new ErrorBody("on must be true or false"));
        }

        device.Mains.IsActive = on;
        return (202, new ChangeResult(device.Record.DeviceId, on ? "mains restored" : "mains cut"));
    }

    private static (int Status, object Body) Battery(SimulatedDevice device, HttpListenerRequest request)
    {
        if (!device.HasBattery)
        {
            return (409, new ErrorBody("this bell has no battery sense: " + device.Record.Profile));
        }

        if (!int.TryParse(request.QueryString["percent"], out int percent) || percent < 0 || percent > 100)
        {
            return (400, new ErrorBody("percent must be 0–100"));
        }

        device.SetBattery(percent);
        return (202, new ChangeResult(device.Record.DeviceId, "battery " + percent + " %"));
    }

    private (int Status, object Body) RouteLight(HttpListenerRequest request, string[] parts)
    {
        if (parts.Length == 1)
        {
            return request.HttpMethod == "GET"
                ? (200, _fleet.Lights.Select(l => l.Status(DistrictName(l.Record.DistrictCode))).ToArray())
                : (405, new ErrorBody("GET only"));
        }

        SimulatedLight? light = parts.Length <= 3 ? _fleet.FindLight(parts[1]) : null;
        if (light is null)
        {
            return (404, new ErrorBody("unknown streetlight: " + parts[1]));
        }

        if (parts.Length == 2)
        {
            return request.HttpMethod == "GET" ? (200, light.Status(DistrictName(light.Record.DistrictCode))) : (405, new ErrorBody("GET only"));
        }

        if (request.HttpMethod != "POST")
        {
            return (405, new ErrorBody("POST only"));
        }

        switch (parts[2])
        {
            case "escort":
                int seconds = 60;
                string? secondsText = request.QueryString["seconds"];
                if (secondsText is not null && (!int.TryParse(secondsText, out seconds) || seconds < 1 || seconds > 3600))
                {
                    return (400, new ErrorBody("seconds must be 1–3600"));
                }

                light.Walk(TimeSpan.FromSeconds(seconds));
                return (202, new LightActionResult(light.Record.DeviceId, "escort", seconds));
            case "lamp":
                string? broken = request.QueryString["broken"];
                if (broken is not ("true" or "false"))
                {
                    return (400, new ErrorBody("broken must be true or false"));
                }

                light.Light.Lamp.LampBroken = broken == "true";
                return (202, new LightActionResult(light.Record.DeviceId, broken == "true" ? "lamp-broken" : "lamp-repaired", null));
            default:
                return (404, new ErrorBody("no such resource; try /lights/{id}/escort or /lights/{id}/lamp"));
        }
    }

    private string? DistrictName(string? code) => code is null ? null : _districts?.ByCode(code)?.NameKo;

    private string? DistrictName(SimulatedDevice device) => DistrictName(device.Record.DistrictCode);

    private static void Respond(HttpListenerResponse response, int status, object body)
    {
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), SimJson.Options);
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
        response.Close();
    }
}
