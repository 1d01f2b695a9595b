using System.Net;
using System.Text.Json;
using Anshimi.Geo;

namespace Anshimi.DeviceSim;

/// <summary>
/// The simulator's local control API: <c>GET /devices</c>, <c>GET /devices/{id}</c> and
/// <c>POST /devices/{id}/press[?holdMs=2000]</c>, JSON in and out, loopback only.
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
        if (parts.Length == 0 || parts[0] != "devices")
        {
            return (404, new ErrorBody("no such resource; try /devices"));
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

        if (parts[2] != "press")
        {
            return (404, new ErrorBody("no such resource; try /devices/{id}/press"));
        }

        if (request.HttpMethod != "POST")
        {
            return (405, new ErrorBody("POST only"));
        }

        int holdMs = DefaultHoldMs;
        string? holdText = request.QueryString["holdMs"];
        if (holdText is not null && (!int.TryParse(holdText, out holdMs) || holdMs < 1 || holdMs > 60_000))
        {
            return (400, new ErrorBody("holdMs must be 1–60000"));
        }

        device.Button.Press(holdMs);
        return (202, new PressResult(device.Record.DeviceId, holdMs));
    }

    private string? DistrictName(SimulatedDevice device) => DistrictName(device.Record.DistrictCode);

    private string? DistrictName(string? code) => code is null ? null : _districts?.ByCode(code)?.NameKo;

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
