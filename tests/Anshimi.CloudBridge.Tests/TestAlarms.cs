using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

/// <summary>Known places and alarm envelopes as a gateway would send them.</summary>
public static class TestAlarms
{
    public const string Gateway = "gw-test-01";

    public static readonly (double Lat, double Lon) SeoulCityHall = (37.5663, 126.9779);
    // Gangnam station itself sits on the Gangnam/Seocho boundary (the simplified polygons put it in Seocho-gu).
    public static readonly (double Lat, double Lon) GangnamGuOffice = (37.5172, 127.0473);
    public static readonly (double Lat, double Lon) JongnoGuOffice = (37.5735, 126.9790);
    public static readonly (double Lat, double Lon) BusanStation = (35.1151, 129.0422);

    public static string EventsTopic(string gatewayId = Gateway) => Topics.GatewayEvents(gatewayId);

    public static string CommandsTopic(string gatewayId = Gateway) => Topics.GatewayCommands(gatewayId);

    public static AlarmEnvelope Alarm(
        uint deviceId,
        uint counter,
        (double Lat, double Lon)? place = null,
        string gatewayId = Gateway,
        int code = ContactIdCode.Panic,
        string address = "서울특별시 강남구 학동로 426",
        bool test = false)
    {
        (double lat, double lon) = place ?? GangnamGuOffice;
        string device = DeviceIdText.Format(deviceId);
        return new AlarmEnvelope(
            Key: new AlarmKey(deviceId, counter).ToString(),
            GatewayId: gatewayId,
            DeviceId: device,
            Counter: counter,
            Event: new ContactIdEvent(code, ContactIdQualifier.NewEvent, 1),
            Profile: "home-panic",
            Site: new SiteInfo("home", lat, lon, address),
            Test: test,
            ReceivedAt: DateTimeOffset.UtcNow,
            FrameHex: "01020304");
    }
}
