using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Audit;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Privacy;

/// <summary>
/// The MOU rule on reads over real HTTP and the real stores: a resident's address, coordinates and picture while the
/// alarm is open; afterwards only to central staff who open the case with a reason; every view audited once.
/// </summary>
[Trait("Category", "Privacy")]
public sealed class AlarmReadRuleTests : IAsyncLifetime
{
    private const string Home = "서울특별시 강남구 학동로 426 101동 1203호";

    private readonly AlarmEnvelope _alarm = TestAlarms.Alarm(0x7001, 1, TestAlarms.GangnamGuOffice, address: Home);
    private CloudBridgeHost _host = null!;
    private HttpClient _gangnam = null!;

    private AuditLog Audit => _host.Services.GetRequiredService<AuditLog>();

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient());
        _gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        await _host.InjectAsync(TestAlarms.EventsTopic(), _alarm);
        TestSnapshots.Write(_host, _alarm.Key, _alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
    }

    public async Task DisposeAsync()
    {
        _gangnam.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task An_open_alarm_shows_where_and_a_resolved_one_shows_only_its_district_in_list_detail_and_stream()
    {
        Assert.Equal(Home, (await DetailAsync(_gangnam, _alarm.Key)).GetProperty("site").GetProperty("address").GetString());

        (await _gangnam.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();

        foreach (HttpClient client in new[] { _gangnam, _host.Http })
        {
            JsonElement detail = await DetailAsync(client, _alarm.Key);
            AssertWithheld(detail);
            Assert.Equal(TestOperators.GangnamCode, detail.GetProperty("district").GetProperty("code").GetString());
            JsonElement listed = (await client.GetFromJsonAsync<JsonElement>(new Uri("/api/alarms", UriKind.Relative))).EnumerateArray().Single(a => a.GetProperty("key").GetString() == _alarm.Key);
            AssertWithheld(listed);
        }

        Assert.Equal(HttpStatusCode.Gone, (await _host.Http.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative))).StatusCode);
        Assert.DoesNotContain(Home, await _host.Http.GetStringAsync(new Uri("/api/alarms", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Central_staff_see_a_resolved_alarm_only_after_opening_the_case_with_a_reason_and_the_opening_is_audited()
    {
        (await _gangnam.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var caseUri = new Uri($"/api/alarms/{_alarm.Key}/case", UriKind.Relative);

        Assert.Equal(HttpStatusCode.BadRequest, (await _host.Http.PostAsJsonAsync(caseUri, new { reason = "  " })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _host.Http.PostAsJsonAsync(caseUri, new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _gangnam.PostAsJsonAsync(caseUri, new { reason = "경찰 수사 협조 요청 2026-118" })).StatusCode);
        Assert.DoesNotContain(await Audit.ListAsync(50, _alarm.Key, CancellationToken.None), r => r.Entry.Action == AuditAction.CaseOpen);

        using HttpResponseMessage opened = await _host.Http.PostAsJsonAsync(caseUri, new { reason = "경찰 수사 협조 요청 2026-118" });
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        Assert.Equal(Home, (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("site").GetProperty("address").GetString());
        AuditRecord opening = (await Audit.ListAsync(50, _alarm.Key, CancellationToken.None)).First(r => r.Entry.Action == AuditAction.CaseOpen);
        Assert.Equal((TestOperators.Central.UserName, "reason=경찰 수사 협조 요청 2026-118"), (opening.Entry.Actor, opening.Entry.Detail));

        // While the case is open: the detail and the picture for the central operator who opened it, nobody else.
        Assert.Equal(Home, (await DetailAsync(_host.Http, _alarm.Key)).GetProperty("site").GetProperty("address").GetString());
        using HttpResponseMessage image = await _host.Http.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal(TestSnapshots.Png, await image.Content.ReadAsByteArrayAsync());
        AssertWithheld(await DetailAsync(_gangnam, _alarm.Key));
        Assert.Equal(HttpStatusCode.Gone, (await _gangnam.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative))).StatusCode);
        AssertWithheld((await _host.Http.GetFromJsonAsync<JsonElement>(new Uri("/api/alarms", UriKind.Relative))).EnumerateArray().Single());

        AuditRecord picture = (await Audit.ListAsync(50, _alarm.Key, CancellationToken.None)).First(r => r.Entry.Action == AuditAction.SnapshotView && r.Entry.Outcome == AuditOutcome.Granted);
        Assert.StartsWith("case ", picture.Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_opened_case_closes_again_after_its_window_and_needs_a_new_reason()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?> { ["Cases:Window"] = "00:15:00" },
            configure: services => services.AddSingleton<TimeProvider>(clock));
        await host.InjectAsync(TestAlarms.EventsTopic(), _alarm);
        TestSnapshots.Write(host, _alarm.Key, _alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        (await host.Http.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        (await host.Http.PostAsJsonAsync(new Uri($"/api/alarms/{_alarm.Key}/case", UriKind.Relative), new { reason = "민원 확인" })).EnsureSuccessStatusCode();

        clock.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(Home, (await DetailAsync(host.Http, _alarm.Key)).GetProperty("site").GetProperty("address").GetString());

        clock.Advance(TimeSpan.FromMinutes(2));
        AssertWithheld(await DetailAsync(host.Http, _alarm.Key));
        Assert.Equal(HttpStatusCode.Gone, (await host.Http.GetAsync(new Uri($"/api/alarms/{_alarm.Key}/snapshot", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Each_detail_view_is_one_audit_row_and_polling_the_list_writes_none()
    {
        for (int poll = 0; poll < 5; poll++)
        {
            (await _gangnam.GetAsync(new Uri("/api/alarms", UriKind.Relative))).EnsureSuccessStatusCode();
        }

        Assert.DoesNotContain(await Audit.ListAsync(50, _alarm.Key, CancellationToken.None), r => r.Entry.Action == AuditAction.AlarmView);

        await DetailAsync(_gangnam, _alarm.Key);
        await DetailAsync(_gangnam, _alarm.Key);

        List<AuditRecord> views = [.. (await Audit.ListAsync(50, _alarm.Key, CancellationToken.None)).Where(r => r.Entry.Action == AuditAction.AlarmView)];
        Assert.Equal(2, views.Count);
        Assert.All(views, v => Assert.Equal((TestOperators.Gangnam.UserName, TestOperators.GangnamCode, "site=shown"), (v.Entry.Actor, v.Entry.District, v.Entry.Detail)));
    }

    [Fact]
    public async Task A_walk_test_alarm_shows_no_site_and_its_picture_is_never_served()
    {
        AlarmEnvelope walkTest = TestAlarms.Alarm(0x7002, 1, TestAlarms.GangnamGuOffice, address: Home, test: true);
        await _host.InjectAsync(TestAlarms.EventsTopic(), walkTest);
        TestSnapshots.Write(_host, walkTest.Key, walkTest.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);

        AssertWithheld(await DetailAsync(_gangnam, walkTest.Key));
        Assert.Equal(HttpStatusCode.NotFound, (await _gangnam.GetAsync(new Uri($"/api/alarms/{walkTest.Key}/snapshot", UriKind.Relative))).StatusCode);
        await _host.Http.PostAsJsonAsync(new Uri($"/api/alarms/{walkTest.Key}/case", UriKind.Relative), new { reason = "설치 점검 확인" });
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.GetAsync(new Uri($"/api/alarms/{walkTest.Key}/snapshot", UriKind.Relative))).StatusCode);
        AuditRecord refused = (await Audit.ListAsync(50, walkTest.Key, CancellationToken.None)).First(r => r.Entry.Action == AuditAction.SnapshotView);
        Assert.Equal((AuditOutcome.Refused, "test alarm"), (refused.Entry.Outcome, refused.Entry.Detail));
    }

    [Fact]
    public async Task The_device_list_shows_district_and_box_and_a_home_only_while_its_alarm_is_open_audited_once_per_alarm()
    {
        var quiet = new DeviceStatusEnvelope(TestAlarms.Gateway, DeviceIdText.Format(0x7003), "home-panic",
            new SiteInfo("home", TestAlarms.GangnamGuOffice.Lat, TestAlarms.GangnamGuOffice.Lon, "서울특별시 강남구 조용한 집"), null,
            new DeviceHealth(false, false, false, false, false, 80), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var alarming = quiet with { DeviceId = _alarm.DeviceId, Site = new SiteInfo("home", TestAlarms.GangnamGuOffice.Lat, TestAlarms.GangnamGuOffice.Lon, Home) };
        await _host.InjectAsync(TestAlarms.EventsTopic(), quiet);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarming);

        for (int poll = 0; poll < 3; poll++)
        {
            JsonElement devices = await _gangnam.GetFromJsonAsync<JsonElement>(new Uri("/api/devices", UriKind.Relative));
            JsonElement other = devices.EnumerateArray().Single(d => d.GetProperty("deviceId").GetString() == quiet.DeviceId);
            AssertWithheld(other);
            Assert.Equal((TestAlarms.Gateway, TestOperators.GangnamCode), (other.GetProperty("gatewayId").GetString(), other.GetProperty("district").GetProperty("code").GetString()));
            JsonElement open = devices.EnumerateArray().Single(d => d.GetProperty("deviceId").GetString() == _alarm.DeviceId);
            Assert.Equal((Home, _alarm.Key), (open.GetProperty("site").GetProperty("address").GetString(), open.GetProperty("openAlarm").GetString()));
        }

        // The devices' bindings are audited too; only the site views count here.
        AuditRecord shown = Assert.Single(await Audit.ListAsync(50, _alarm.DeviceId, CancellationToken.None), r => r.Entry.Action == AuditAction.DeviceSiteView);
        Assert.Equal((TestOperators.Gangnam.UserName, "alarm=" + _alarm.Key), (shown.Entry.Actor, shown.Entry.Detail));
        Assert.DoesNotContain(await Audit.ListAsync(50, quiet.DeviceId, CancellationToken.None), r => r.Entry.Action == AuditAction.DeviceSiteView);

        (await _gangnam.PostAsync(new Uri($"/api/alarms/{_alarm.Key}/resolve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        string after = await _gangnam.GetStringAsync(new Uri("/api/devices", UriKind.Relative));
        Assert.DoesNotContain(Home, after, StringComparison.Ordinal);
        Assert.DoesNotContain("조용한 집", after, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> DetailAsync(HttpClient client, string key)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri($"/api/alarms/{key}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static void AssertWithheld(JsonElement item)
    {
        JsonElement site = item.GetProperty("site");
        Assert.Equal(JsonValueKind.Null, site.GetProperty("address").ValueKind);
        Assert.Equal(JsonValueKind.Null, site.GetProperty("lat").ValueKind);
        Assert.Equal(JsonValueKind.Null, site.GetProperty("lon").ValueKind);
    }
}
