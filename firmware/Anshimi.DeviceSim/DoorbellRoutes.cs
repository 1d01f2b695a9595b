using System.Net;
using System.Text.Json.Serialization;

namespace Anshimi.DeviceSim;

/// <summary>
/// The control API of a simulated doorbell: <c>GET /devices/{id}</c>, <c>POST /devices/{id}/ring</c>,
/// <c>POST /devices/{id}/motion?state=start|stop</c> and <c>POST /devices/{id}/emergency[?holdMs=2000]</c>.
/// </summary>
public static class DoorbellRoutes
{
    public const int RingPressMs = 200;

    public static (int Status, object Body) Route(SimulatedDoorbell doorbell, string? action, HttpListenerRequest request, string? districtName)
    {
        if (action is null)
        {
            return request.HttpMethod == "GET" ? (200, doorbell.Status(districtName)) : (405, new ErrorBody("GET only"));
        }

        if (request.HttpMethod != "POST")
        {
            return (405, new ErrorBody("POST only"));
        }

        string id = doorbell.Record.DeviceId;
        switch (action)
        {
            case "ring":
                doorbell.Parts.Ring.Press(RingPressMs);
                return (202, new DoorbellActionResult(id, "ring", RingPressMs));
            case "motion":
                string? state = request.QueryString["state"];
                if (state == "start")
                {
                    doorbell.Parts.Pir.StartMotion();
                }
                else if (state == "stop")
                {
                    doorbell.Parts.Pir.StopMotion();
                }
                else
                {
                    return (400, new ErrorBody("state must be start or stop"));
                }

                return (202, new DoorbellActionResult(id, "motion-" + state, 0));
            case "emergency":
            case "press":
                int holdMs = ControlServer.DefaultHoldMs;
                string? holdText = request.QueryString["holdMs"];
                if (holdText is not null && (!int.TryParse(holdText, out holdMs) || holdMs < 1 || holdMs > 60_000))
                {
                    return (400, new ErrorBody("holdMs must be 1–60000"));
                }

                doorbell.Parts.Emergency.Press(holdMs);
                return (202, new DoorbellActionResult(id, "emergency", holdMs));
            default:
                return (404, new ErrorBody("no such resource; try ring, motion?state=start|stop or emergency"));
        }
    }
}

/// <summary>Body of an accepted doorbell action.</summary>
public sealed record DoorbellActionResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("holdMs")] int HoldMs);
