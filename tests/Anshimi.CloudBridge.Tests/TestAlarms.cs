using System.Security.Cryptography;
using System.Text;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

/// <summary>Known places, and alarm and binding envelopes as a gateway would send them (alarms carry a real signed frame).</summary>
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
        bool test = false,
        int zone = 1)
    {
        (double lat, double lon) = place ?? GangnamGuOffice;
        string device = DeviceIdText.Format(deviceId);
        byte[] frame = new FrameCodec(new PlatformHmacSha256()).Encode(
            Frame.Alarm(deviceId, counter, (ushort)code, ContactIdQualifier.NewEvent, (ushort)zone), KeyOf(deviceId));
        return new AlarmEnvelope(
            Key: new AlarmKey(deviceId, counter).ToString(),
            GatewayId: gatewayId,
            DeviceId: device,
            Counter: counter,
            Event: new ContactIdEvent(code, ContactIdQualifier.NewEvent, zone),
            Profile: "home-panic",
            Site: new SiteInfo("home", lat, lon, address),
            Test: test,
            ReceivedAt: DateTimeOffset.UtcNow,
            FrameHex: Convert.ToHexStringLower(frame));
    }

    /// <summary>The frame key of a test device: the same for the same id in every test.</summary>
    public static byte[] KeyOf(uint deviceId) => SHA256.HashData(Encoding.ASCII.GetBytes("anshimi-test-device-" + DeviceIdText.Format(deviceId)));

    /// <summary>What the gateway tells the cloud when the installer binds <paramref name="deviceId"/> at a site.</summary>
    public static DeviceBoundEnvelope Bound(
        uint deviceId,
        (double Lat, double Lon)? place = null,
        string gatewayId = Gateway,
        string address = "서울특별시 강남구 학동로 426",
        string profile = "home-panic",
        string kind = "home")
    {
        (double lat, double lon) = place ?? GangnamGuOffice;
        return new DeviceBoundEnvelope(gatewayId, DeviceIdText.Format(deviceId), profile, new SiteInfo(kind, lat, lon, address), Convert.ToHexString(KeyOf(deviceId)));
    }

    /// <summary>The binding that puts the device of <paramref name="alarm"/> where the alarm says, at its gateway.</summary>
    public static DeviceBoundEnvelope BindingOf(AlarmEnvelope alarm)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        DeviceIdText.TryParse(alarm.DeviceId, out uint deviceId);
        return new DeviceBoundEnvelope(alarm.GatewayId, alarm.DeviceId, alarm.Profile, alarm.Site, Convert.ToHexString(KeyOf(deviceId)));
    }
}
