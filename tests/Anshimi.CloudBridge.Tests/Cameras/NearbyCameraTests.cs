using System.Globalization;
using System.Net;
using System.Text.Json;
using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Tests.Upstreams;
using Anshimi.Testing;

namespace Anshimi.CloudBridge.Tests.Cameras;

/// <summary>
/// The real bridge over real HTTP with the shipped Seoul data: the 행정동 and the nearest Anshimi CCTV points of an
/// alarm, what each operator may see of them, what receivers get, and malformed data files refused at start.
/// </summary>
[Trait("Category", "SeoulData")]
public sealed class NearbyCameraTests
{
    // Exit 2 of 건대입구역 (Konkuk University station), 광진구 화양동.
    private static readonly (double Lat, double Lon) KonkukStation = (37.5404, 127.0692);

    // Between two camera points 48 m apart on the 광진구/성동구 border.
    private static readonly (double Lat, double Lon) GwangjinSeongdongBorder = (37.55495, 127.0714);

    private const string GwangjinCode = "11215";
    private const string SeongdongCode = "11200";

    [Fact]
    public async Task An_alarm_at_Konkuk_University_station_lists_its_neighbourhood_and_the_cameras_a_brute_force_scan_of_the_file_finds()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x16, 1, KonkukStation, address: "서울특별시 광진구 능동로 110"));

        JsonElement alarm = await GetJsonAsync(host.Http, "/api/alarms/00000016:1");

        Assert.Equal(GwangjinCode, alarm.GetProperty("district").GetProperty("code").GetString());
        JsonElement dong = alarm.GetProperty("neighbourhood");
        Assert.Equal("1121571000", dong.GetProperty("code").GetString());
        Assert.Equal("화양동", dong.GetProperty("nameKo").GetString());
        Assert.Equal("서울특별시 광진구 화양동", dong.GetProperty("fullNameKo").GetString());

        List<(RawCctv.Point Point, double Metres)> expected = RawCctv.Nearest(KonkukStation.Lat, KonkukStation.Lon, 150, 10);
        Assert.Equal(10, expected.Count);
        AssertCameras(expected, alarm.GetProperty("cameras"));

        // The list and the stream carry the neighbourhood too, but never the cameras.
        JsonElement listed = Assert.Single((await GetJsonAsync(host.Http, "/api/alarms")).EnumerateArray());
        Assert.Equal("1121571000", listed.GetProperty("neighbourhood").GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("cameras").ValueKind);
    }

    [Fact]
    public async Task Alarms_are_filtered_by_neighbourhood_and_an_unknown_neighbourhood_is_a_bad_request()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x17, 1, KonkukStation));
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x18, 1, TestAlarms.SeoulCityHall));

        JsonElement hwayang = await GetJsonAsync(host.Http, "/api/alarms?neighbourhood=1121571000");
        Assert.Equal(["00000017:1"], hwayang.EnumerateArray().Select(a => a.GetProperty("key").GetString()));
        Assert.Equal(2, (await GetJsonAsync(host.Http, "/api/alarms")).GetArrayLength());

        using HttpResponseMessage bad = await host.Http.GetAsync(new Uri("/api/alarms?neighbourhood=9999999999", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        JsonElement dongs = await GetJsonAsync(host.Http, "/api/neighbourhoods");
        Assert.Equal(425, dongs.GetArrayLength());
    }

    [Fact]
    public async Task A_district_operator_sees_only_their_own_districts_cameras_around_an_alarm_on_the_border()
    {
        var gwangjin = new TestOperator("gwangjin-op", "gwangjin-pass-1234", false, GwangjinCode);
        var seongdong = new TestOperator("seongdong-op", "seongdong-pass-1234", false, SeongdongCode);
        var both = new TestOperator("east-op", "east-pass-1234", false, GwangjinCode, SeongdongCode);
        var settings = new Dictionary<string, string?>();
        TestOperators.AddExtraSeed(settings, gwangjin, seongdong, both);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings);
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x19, 1, GwangjinSeongdongBorder));
        JsonElement central = await GetJsonAsync(host.Http, "/api/alarms/00000019:1");
        string owner = central.GetProperty("district").GetProperty("code").GetString()!;
        Assert.Contains(owner, new[] { GwangjinCode, SeongdongCode });
        TestOperator ownerOperator = owner == GwangjinCode ? gwangjin : seongdong;
        string ownerName = owner == GwangjinCode ? "광진구" : "성동구";

        // Central staff see both districts' cameras: the place is a real border case.
        AssertCameras(RawCctv.Nearest(GwangjinSeongdongBorder.Lat, GwangjinSeongdongBorder.Lon, 150, 10), central.GetProperty("cameras"));
        Assert.Equal(
            [SeongdongCode, GwangjinCode],
            central.GetProperty("cameras").EnumerateArray().Select(c => c.GetProperty("districtCode").GetString()).Distinct().Order());

        using HttpClient ownerClient = await host.SignedInAsync(ownerOperator);
        JsonElement own = (await GetJsonAsync(ownerClient, "/api/alarms/00000019:1")).GetProperty("cameras");
        AssertCameras(RawCctv.Nearest(GwangjinSeongdongBorder.Lat, GwangjinSeongdongBorder.Lon, 150, 10, d => d == ownerName), own);
        Assert.All(own.EnumerateArray(), c => Assert.Equal(owner, c.GetProperty("districtCode").GetString()));

        using HttpClient bothClient = await host.SignedInAsync(both);
        AssertCameras(RawCctv.Nearest(GwangjinSeongdongBorder.Lat, GwangjinSeongdongBorder.Lon, 150, 10), (await GetJsonAsync(bothClient, "/api/alarms/00000019:1")).GetProperty("cameras"));

        // The other district's operator cannot open the alarm at all, so sees none of its cameras.
        using HttpClient otherClient = await host.SignedInAsync(owner == GwangjinCode ? seongdong : gwangjin);
        using HttpResponseMessage other = await otherClient.GetAsync(new Uri("/api/alarms/00000019:1", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task The_radius_and_the_count_come_from_configuration()
    {
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(
            new FakeMqttClient(), new Dictionary<string, string?> { ["Cameras:RadiusMetres"] = "60", ["Cameras:MaxPerAlarm"] = "3" });
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x1A, 1, KonkukStation));

        JsonElement alarm = await GetJsonAsync(host.Http, "/api/alarms/0000001A:1");

        AssertCameras(RawCctv.Nearest(KonkukStation.Lat, KonkukStation.Lon, 60, 3), alarm.GetProperty("cameras"));
    }

    [Fact]
    public async Task A_webhook_receives_the_neighbourhood_and_the_nearest_cameras_of_the_city()
    {
        const string secret = "webhook-shared-secret-0123456789";
        await using WebhookTestReceiver receiver = await WebhookTestReceiver.StartAsync(secret);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Webhook("vms", receiver.Url, secret).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x1B, 1, GwangjinSeongdongBorder));
        await Eventually.HoldsAsync(() => receiver.Requests.Count == 1, "one POST");

        WebhookRequest request = Assert.Single(receiver.Requests);
        Assert.True(request.SignatureValid);
        JsonElement json = request.Json;
        Assert.Equal(JsonValueKind.String, json.GetProperty("site").GetProperty("neighbourhood").GetProperty("code").ValueKind);
        AssertCameras(RawCctv.Nearest(GwangjinSeongdongBorder.Lat, GwangjinSeongdongBorder.Lon, 150, 10), json.GetProperty("cameras"));
    }

    [Fact]
    public async Task A_DC09_receiver_gets_the_site_and_the_nearest_cameras_as_extended_data_in_a_valid_frame()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09("station", receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x1C, 1, KonkukStation));
        await Eventually.HoldsAsync(() => receiver.Accepted.Count == 1, "ACKed");

        // Accepted means the receiver decoded the frame and its CRC and length matched.
        Dc09Message message = Assert.Single(receiver.Accepted);
        Assert.Equal("#9999|1120 01 001", message.Data);
        List<(RawCctv.Point Point, double Metres)> nearest = RawCctv.Nearest(KonkukStation.Lat, KonkukStation.Lon, 150, 10);
        string[] blocks = message.ExtendedData.Split(']', StringSplitOptions.RemoveEmptyEntries).Select(b => b.TrimStart('[')).ToArray();
        Assert.Equal("X127.069200", blocks[0]);
        Assert.Equal("Y37.540400", blocks[1]);
        string verification = blocks[2];
        Assert.StartsWith("V", verification, StringComparison.Ordinal);
        Assert.InRange(verification.Length - 1, 1, Dc09Alarm.MaxVerificationLength);
        string[] entries = verification[1..]["CCTV ".Length..].Split(';');
        Assert.InRange(entries.Length, 5, 10);
        for (int i = 0; i < entries.Length; i++)
        {
            (RawCctv.Point point, double metres) = nearest[i];
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{Math.Round(metres)}m x{point.Cameras} {point.Lat:F6},{point.Lon:F6}"), entries[i]);
        }
    }

    [Fact]
    public async Task A_malformed_camera_file_stops_the_bridge_at_start_naming_the_line()
    {
        string path = Path.Combine(Path.GetTempPath(), "cctv-" + Guid.NewGuid().ToString("N") + ".csv");
        string[] lines = await File.ReadAllLinesAsync(RawCctv.File);
        lines[2001] = "광진구,화양동 1,37.5404,127.0692,many";
        await File.WriteAllLinesAsync(path, lines);
        try
        {
            FormatException error = await Assert.ThrowsAsync<FormatException>(() =>
                CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?> { ["Cameras:File"] = path }));
            Assert.Equal("camera file " + path + " line 2002: cameras \"many\" is not a whole number from 1 to 1000", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_malformed_neighbourhood_file_stops_the_bridge_at_start_naming_the_feature()
    {
        string path = Path.Combine(Path.GetTempPath(), "dongs-" + Guid.NewGuid().ToString("N") + ".geojson");
        string text = await File.ReadAllTextAsync(RawCctv.DongsFile);
        await File.WriteAllTextAsync(path, text.Replace("\"adm_cd2\":\"1111053000\"", "\"adm_cd2\":\"11110530\"", StringComparison.Ordinal));
        try
        {
            FormatException error = await Assert.ThrowsAsync<FormatException>(() =>
                CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?> { ["CloudBridge:NeighbourhoodsGeoJson"] = path }));
            Assert.Equal("neighbourhood file " + path + ": features[0] has adm_cd2 \"11110530\", not a 10-digit code", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertCameras(List<(RawCctv.Point Point, double Metres)> expected, JsonElement cameras)
    {
        Assert.Equal(expected.Count, cameras.GetArrayLength());
        int i = 0;
        foreach (JsonElement camera in cameras.EnumerateArray())
        {
            (RawCctv.Point point, double metres) = expected[i++];
            Assert.Equal(point.Label, camera.GetProperty("label").GetString());
            Assert.Equal((int)Math.Round(metres), camera.GetProperty("metres").GetInt32());
            Assert.Equal(point.Cameras, camera.GetProperty("cameras").GetInt32());
            Assert.Equal(point.Lat, camera.GetProperty("lat").GetDouble());
            Assert.Equal(point.Lon, camera.GetProperty("lon").GetDouble());
        }
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, path + ": " + (int)response.StatusCode + " " + body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
