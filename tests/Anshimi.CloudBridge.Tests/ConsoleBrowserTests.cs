using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Anshimi.CloudBridge.Tests;

/// <summary>
/// The operator console in Debian's chromium (headless), driven by Playwright. Screenshots are kept in
/// tests/Anshimi.CloudBridge.Tests/TestResults/screenshots.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ConsoleBrowserTests : IAsyncLifetime
{
    private static readonly string ScreenshotDirectory = RepoPaths.Combine("tests", "Anshimi.CloudBridge.Tests", "TestResults", "screenshots");

    private readonly FakeMqttClient _mqtt = new();
    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("console-city-").FullName;
    private readonly List<string> _pageErrors = [];
    private CloudBridgeHost _host = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        // The app tests' street of smart lights in 중구, for the map's escort and streetlight layers.
        _host = await CloudBridgeHost.StartAsync(_mqtt, AppTestCity.Settings(_cityDirectory));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            // Debian's chromium, never a browser download.
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _host.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task Signing_in_shows_a_live_alarm_which_is_acknowledged_dispatched_and_resolved_with_its_timeline()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x0100, 1, TestAlarms.GangnamGuOffice));
        IPage page = await OpenConsoleAsync();
        await Expect(page.GetByTestId("signin-view")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("alarm-table")).ToBeHiddenAsync();
        await ScreenshotAsync(page, "console-sign-in");

        await SignInAsync(page, TestOperators.Gangnam);
        await Expect(page.GetByTestId("signed-in-user")).ToContainTextAsync("강남구");
        await Expect(page.GetByTestId("alarm-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("sound-toggle")).ToContainTextAsync("소리 켜기");
        await page.GetByTestId("sound-toggle").ClickAsync();
        await Expect(page.GetByTestId("sound-toggle")).ToHaveAttributeAsync("aria-pressed", "true");
        string? beepAfterEnabling = await page.Locator("body").GetAttributeAsync("data-last-beep");

        // Arrives through the relay while the page is open: no reload.
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 5);
        await _host.BindAsync(TestAlarms.EventsTopic(), alarm);
        _mqtt.Deliver(TestAlarms.EventsTopic(), alarm);

        ILocator row = Row(page, alarm.Key);
        await Expect(row).ToBeVisibleAsync();
        await Expect(row).ToHaveClassAsync(new Regex("is-new"));
        await Expect(row.GetByTestId("alarm-district")).ToContainTextAsync("강남구");
        await Expect(row.GetByTestId("alarm-event")).ToContainTextAsync("비상벨");
        await Expect(row.GetByTestId("alarm-device")).ToHaveTextAsync("0000A1B2");
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("미확인");
        await Expect(page.GetByTestId("open-count")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("alarm-row").First).ToHaveAttributeAsync("data-key", alarm.Key);
        await Expect(page.Locator("body")).Not.ToHaveAttributeAsync("data-last-beep", beepAfterEnabling ?? "");
        await ScreenshotAsync(page, "console-new-alarm");

        await row.GetByTestId("ack-button").ClickAsync();
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("확인됨");
        await row.GetByTestId("dispatch-button").ClickAsync();
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("출동 중");
        await Expect(row.GetByTestId("ack-button")).ToBeDisabledAsync();
        await Eventually.HoldsAsync(() => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Any(a => a.Key == alarm.Key), "ack sent to the gateway");

        await row.ClickAsync();
        ILocator detail = page.GetByTestId("alarm-detail");
        await Expect(detail).ToHaveAttributeAsync("data-key", alarm.Key);
        await detail.GetByTestId("resolve-button").ClickAsync();
        await Expect(detail.GetByTestId("detail-state")).ToHaveTextAsync("종결");
        ILocator steps = detail.GetByTestId("timeline-entry");
        await Expect(steps).ToHaveCountAsync(5);
        foreach ((string stage, int index) in new[] { ("raised", 0), ("received", 1), ("acknowledged", 2), ("dispatched", 3), ("resolved", 4) })
        {
            await Expect(steps.Nth(index)).ToHaveAttributeAsync("data-stage", stage);
        }

        await Expect(steps.Nth(3).GetByTestId("timeline-actor")).ToHaveTextAsync(TestOperators.Gangnam.UserName);
        await Expect(steps.Nth(3)).ToContainTextAsync("출동 지령");
        await ScreenshotAsync(page, "console-timeline");

        await page.GetByTestId("lang-en").ClickAsync();
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("Resolved");
        await Expect(steps.Nth(3)).ToContainTextAsync("Dispatched");
        await Expect(page.Locator("th").Nth(1)).ToHaveTextAsync("District");
        await Expect(page.GetByTestId("tab-map")).ToHaveTextAsync("Map");
        await Expect(page.GetByTestId("sound-toggle")).ToContainTextAsync("Mute sound");
        await ScreenshotAsync(page, "console-resolved-en");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task An_operator_of_Gangnam_never_sees_a_Jongno_alarm_and_walk_tests_stay_out_of_the_queue()
    {
        IPage gangnam = await OpenConsoleAsync();
        await SignInAsync(gangnam, TestOperators.Gangnam);
        IPage jongno = await OpenConsoleAsync();
        await SignInAsync(jongno, TestOperators.Jongno);
        await Expect(gangnam.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");
        await Expect(jongno.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");

        AlarmEnvelope inJongno = TestAlarms.Alarm(0x0300, 1, TestAlarms.JongnoGuOffice, address: "서울특별시 종로구 삼봉로 43");
        AlarmEnvelope inGangnam = TestAlarms.Alarm(0x0301, 1, TestAlarms.GangnamGuOffice);
        AlarmEnvelope walkTest = TestAlarms.Alarm(0x0302, 1, TestAlarms.GangnamGuOffice, test: true);
        await _host.BindAsync(TestAlarms.EventsTopic(), inJongno);
        _mqtt.Deliver(TestAlarms.EventsTopic(), inJongno);
        await _host.BindAsync(TestAlarms.EventsTopic(), inGangnam);
        _mqtt.Deliver(TestAlarms.EventsTopic(), inGangnam);
        await _host.BindAsync(TestAlarms.EventsTopic(), walkTest);
        _mqtt.Deliver(TestAlarms.EventsTopic(), walkTest);

        await Expect(Row(gangnam, inGangnam.Key)).ToBeVisibleAsync();
        await Expect(Row(jongno, inJongno.Key)).ToBeVisibleAsync();
        await Expect(Row(jongno, inJongno.Key).GetByTestId("alarm-district")).ToContainTextAsync("종로구");
        await Eventually.HoldsAsync(async () => await _host.Store.FindAsync(walkTest.Key, CancellationToken.None) is not null, "walk test stored");

        // Still only one row each, after a reload as well: isolation is the server's, not the page's.
        await gangnam.ReloadAsync();
        await Expect(Row(gangnam, inGangnam.Key)).ToBeVisibleAsync();
        await Expect(gangnam.GetByTestId("alarm-row")).ToHaveCountAsync(1);
        await Expect(jongno.GetByTestId("alarm-row")).ToHaveCountAsync(1);
        await Expect(Row(gangnam, inJongno.Key)).ToHaveCountAsync(0);
        await Expect(Row(gangnam, walkTest.Key)).ToHaveCountAsync(0);
        await ScreenshotAsync(gangnam, "console-gangnam-only");

        await gangnam.GetByTestId("tab-walktest").ClickAsync();
        await Expect(gangnam.GetByTestId("walktest-row")).ToHaveCountAsync(1);
        await Expect(gangnam.GetByTestId("walktest-row")).ToHaveAttributeAsync("data-key", walkTest.Key);
        await jongno.GetByTestId("tab-walktest").ClickAsync();
        await Expect(jongno.GetByTestId("walktest-row")).ToHaveCountAsync(0);

        await gangnam.GetByTestId("tab-map").ClickAsync();
        await Expect(gangnam.GetByTestId("map-district")).ToHaveCountAsync(25);
        await Expect(gangnam.Locator("[data-testid=map-district].mine")).ToHaveCountAsync(1);
        await Expect(gangnam.Locator("[data-testid=map-district].mine")).ToHaveAttributeAsync("data-code", TestOperators.GangnamCode);
        await Expect(gangnam.GetByTestId("marker-alarm")).ToHaveCountAsync(1);
        await Expect(gangnam.GetByTestId("marker-alarm")).ToHaveAttributeAsync("data-id", inGangnam.Key);
        await ScreenshotAsync(gangnam, "console-map");
        Assert.Empty(_pageErrors);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_alarm_streamed_while_its_list_is_loading_is_not_dropped_by_the_older_list(bool walkTest)
    {
        AlarmEnvelope earlier = TestAlarms.Alarm(0x0500, 1, TestAlarms.GangnamGuOffice, test: walkTest);
        await _host.InjectAsync(TestAlarms.EventsTopic(), earlier);
        IPage page = await OpenConsoleAsync();
        string rowId = walkTest ? "walktest-row" : "alarm-row";
        ILocator RowOf(string key) => page.Locator($"[data-testid={rowId}][data-key='{key}']");

        // The first list request is read from the server at once but handed to the page only later,
        // as a slow network would: the new alarm reaches the page through the stream in between.
        TaskCompletionSource<(IRoute Route, IAPIResponse Response)> listRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Regex listRequest = new(walkTest ? @"/api/alarms\?view=walk-test" : @"/api/alarms\?limit=");
        await page.RouteAsync(listRequest, async route => listRead.TrySetResult((route, await route.FetchAsync())), new() { Times = 1 });
        await SignInAsync(page, TestOperators.Gangnam);
        if (walkTest)
        {
            await page.GetByTestId("tab-walktest").ClickAsync();
        }

        (IRoute held, IAPIResponse olderList) = await listRead.Task.WaitAsync(TimeSpan.FromSeconds(30));
        AlarmEnvelope streamed = TestAlarms.Alarm(0x0501, 1, TestAlarms.GangnamGuOffice, test: walkTest);
        await _host.BindAsync(TestAlarms.EventsTopic(), streamed);
        _mqtt.Deliver(TestAlarms.EventsTopic(), streamed);
        await Expect(RowOf(streamed.Key)).ToBeVisibleAsync();
        Assert.DoesNotContain(streamed.Key, await olderList.TextAsync(), StringComparison.Ordinal);

        await held.FulfillAsync(new() { Response = olderList });
        // The earlier alarm comes only with the list, so its row says the list has been applied.
        await Expect(RowOf(earlier.Key)).ToBeVisibleAsync();
        await Expect(RowOf(streamed.Key)).ToBeVisibleAsync();
        await Expect(page.GetByTestId(rowId)).ToHaveCountAsync(2);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Acknowledging_an_alarm_a_colleague_has_just_resolved_says_so_in_korean()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x0600, 1, TestAlarms.GangnamGuOffice);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        IPage page = await OpenConsoleAsync();
        await SignInAsync(page, TestOperators.Gangnam);
        ILocator row = Row(page, alarm.Key);
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("미확인");

        // The colleague's resolve reaches the server just before this operator's acknowledgement does.
        await page.RouteAsync(new Regex("/api/alarms/[^/]+/ack$"), async route =>
        {
            using HttpResponseMessage resolved = await _host.Http.PostAsync(new Uri($"/api/alarms/{alarm.Key}/resolve", UriKind.Relative), null);
            Assert.True(resolved.IsSuccessStatusCode);
            await route.ContinueAsync();
        });
        await row.GetByTestId("ack-button").ClickAsync();

        await Expect(page.GetByTestId("error-banner")).ToHaveTextAsync("요청 실패: 이미 종결된 경보입니다 (다른 관제요원이 처리했습니다).");
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("종결");
        await ScreenshotAsync(page, "console-already-resolved");
        _pageErrors.RemoveAll(e => e.Contains("409", StringComparison.Ordinal));
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_snapshot_is_shown_while_the_alarm_is_open_and_every_view_is_audited()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x0400, 1, TestAlarms.GangnamGuOffice);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        TestSnapshots.Write(_host, alarm.Key, alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        AuditLog audit = _host.Services.GetRequiredService<AuditLog>();

        IPage page = await OpenConsoleAsync();
        await SignInAsync(page, TestOperators.Gangnam);
        await Row(page, alarm.Key).ClickAsync();
        ILocator detail = page.GetByTestId("alarm-detail");
        await detail.GetByTestId("snapshot-button").ClickAsync();

        ILocator image = detail.GetByTestId("snapshot-image");
        await Expect(image).ToBeVisibleAsync();
        Assert.Equal(1, await image.EvaluateAsync<int>("img => img.naturalWidth"));
        AuditRecord granted = Assert.Single(await audit.ListAsync(10, alarm.Key, CancellationToken.None), r => r.Entry.Action == AuditAction.SnapshotView);
        Assert.Equal((TestOperators.Gangnam.UserName, AuditAction.SnapshotView, AuditOutcome.Granted),
            (granted.Entry.Actor, granted.Entry.Action, granted.Entry.Outcome));
        await ScreenshotAsync(page, "console-snapshot-open");

        await detail.GetByTestId("resolve-button").ClickAsync();
        await Expect(image).ToBeHiddenAsync();
        await Expect(detail.GetByTestId("snapshot-button")).ToBeDisabledAsync();
        await Expect(detail.GetByTestId("snapshot-status")).ToHaveTextAsync("종결된 경보의 사진은 볼 수 없습니다.");

        // Asking anyway (as a script could) is refused, and the refusal is audited too.
        int status = await page.EvaluateAsync<int>(
            "key => fetch('/api/alarms/' + key + '/snapshot', { headers: { 'X-Anshimi-Request': 'console' } }).then(r => r.status)", alarm.Key);
        Assert.Equal(410, status);
        _pageErrors.RemoveAll(e => e.Contains("410", StringComparison.Ordinal));

        // Central staff see both views in the audit tab.
        IPage central = await OpenConsoleAsync();
        await SignInAsync(central, TestOperators.Central);
        await central.GetByTestId("tab-audit").ClickAsync();
        ILocator views = central.Locator($"[data-testid=audit-row][data-action=snapshot-view][data-target='{alarm.Key}']");
        await Expect(views).ToHaveCountAsync(2);
        await Expect(views.First).ToHaveAttributeAsync("data-outcome", AuditOutcome.Refused);
        await Expect(views.Nth(1)).ToHaveAttributeAsync("data-outcome", AuditOutcome.Granted);
        await central.GetByTestId("audit-verify").ClickAsync();
        await Expect(central.GetByTestId("audit-verify-result")).ToHaveAttributeAsync("data-intact", "true");
        await ScreenshotAsync(central, "console-audit");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_signing_out_ends_the_session()
    {
        IPage page = await OpenConsoleAsync();
        await page.GetByTestId("lang-en").ClickAsync();
        await Expect(page.GetByTestId("signin-submit")).ToHaveTextAsync("Sign in");
        await SignInAsync(page, TestOperators.Gangnam with { Password = "not-the-password" });
        await Expect(page.GetByTestId("signin-error")).ToHaveTextAsync("Wrong user name or password.");
        await Expect(page.GetByTestId("alarm-table")).ToBeHiddenAsync();

        await SignInAsync(page, TestOperators.Gangnam);
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");
        await page.GetByTestId("sign-out").ClickAsync();
        await Expect(page.GetByTestId("signin-view")).ToBeVisibleAsync();

        int status = await page.EvaluateAsync<int>("() => fetch('/api/alarms').then(r => r.status)");
        Assert.Equal(401, status);
        _pageErrors.RemoveAll(e => e.Contains("401", StringComparison.Ordinal));
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Central_staff_see_an_active_escort_and_the_streetlights_it_lights_and_an_emergency_blinks_on_the_map()
    {
        string escort = await AppRequests.StartEscortAsync(_host.Http, AppTestCity.Along(5), AppTestCity.Along(570));
        await AppRequests.MoveAsync(_host.Http, escort, AppTestCity.Along(95));
        JsonElement report = await AppRequests.ReportEmergencyAsync(_host.Http, AppTestCity.Along(400), "console-map-1");

        IPage page = await OpenConsoleAsync();
        await SignInAsync(page, TestOperators.Central);
        await page.GetByTestId("tab-map").ClickAsync();

        ILocator walker = page.GetByTestId("marker-escorts");
        await Expect(walker).ToHaveCountAsync(1);
        await Expect(walker).ToHaveAttributeAsync("data-id", escort);
        await Expect(walker).ToHaveAttributeAsync("data-state", "escort");
        // The whole city shows only the lights doing something: three escorting, three blinking.
        await Expect(page.GetByTestId("marker-lights")).ToHaveCountAsync(6);
        Assert.Empty(await page.Locator("[data-testid=marker-lights][data-state=idle]").AllAsync());
        ILocator blinking = page.Locator("[data-testid=marker-lights][data-state=emergency]");
        await Expect(blinking).ToHaveCountAsync(3);
        Assert.Equal(
            [AppTestCity.LightId(12), AppTestCity.LightId(13), AppTestCity.LightId(14)],
            (await blinking.EvaluateAllAsync<string[]>("lights => lights.map(l => l.dataset.id)")).Order(StringComparer.Ordinal));
        Assert.Equal(
            [AppTestCity.LightId(3), AppTestCity.LightId(4), AppTestCity.LightId(5)],
            (await page.Locator("[data-testid=marker-lights][data-state=escort]").EvaluateAllAsync<string[]>("lights => lights.map(l => l.dataset.id)")).Order(StringComparer.Ordinal));
        await Expect(page.Locator($"[data-testid=marker-lights][data-id='{AppTestCity.LightId(13)}'] title")).ToHaveTextAsync($"{AppTestCity.LightId(13)} 비상 점멸 / Emergency blink");
        Assert.Equal("infinite", await blinking.First.EvaluateAsync<string>("l => getComputedStyle(l).animationIterationCount"));
        await Expect(page.Locator("[data-i18n=legendLightEmergency]")).ToHaveTextAsync("비상 점멸");

        // The report's alarm is drawn over the lights, not under them.
        ILocator alarm = page.GetByTestId("marker-alarm");
        await Expect(alarm).ToHaveAttributeAsync("data-id", report.GetProperty("alarmKey").GetString()!);
        Assert.True(await page.EvaluateAsync<bool>("""
            () => {
              const markers = [...document.querySelectorAll("[data-testid=district-map] .markers > *")].map(m => m.dataset.testid);
              return markers.indexOf("marker-alarm") > markers.lastIndexOf("marker-lights");
            }
            """));
        await ScreenshotAsync(page, "console-map-escort");

        // Clicking 중구 zooms to it: the street's lights spread out, keeping their size on screen.
        double cityWidth = await MapWidthAsync(page);
        double lightRadius = double.Parse(await page.GetByTestId("marker-lights").First.GetAttributeAsync("r") ?? "", CultureInfo.InvariantCulture);
        await page.Locator("[data-testid=map-district][data-code='11140']").DispatchEventAsync("click");
        await Expect(page.GetByTestId("map-whole-city")).ToBeVisibleAsync();
        double zoomedWidth = await MapWidthAsync(page);
        Assert.InRange(zoomedWidth, cityWidth / 20, cityWidth / 4);

        // The zoomed view's markers arrive with their own request: every light in the box, idle ones too.
        await Expect(page.GetByTestId("marker-lights")).ToHaveCountAsync(AppTestCity.LightCount);
        Assert.Equal(lightRadius * zoomedWidth / cityWidth, double.Parse(await page.GetByTestId("marker-lights").First.GetAttributeAsync("r") ?? "", CultureInfo.InvariantCulture), 2);
        await Expect(page.Locator("[data-testid=marker-lights][data-state=emergency]")).ToHaveCountAsync(3);
        await ScreenshotAsync(page, "console-map-escort-junggu");
        await page.GetByTestId("map-whole-city").ClickAsync();
        Assert.Equal(cityWidth, await MapWidthAsync(page), 1);
        await Expect(page.GetByTestId("map-whole-city")).ToBeHiddenAsync();
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task A_district_operator_s_map_opens_on_their_own_district()
    {
        IPage page = await OpenConsoleAsync();
        await SignInAsync(page, TestOperators.Central);
        await page.GetByTestId("tab-map").ClickAsync();
        await Expect(page.GetByTestId("map-district")).ToHaveCountAsync(25);
        double cityWidth = await MapWidthAsync(page);

        IPage gangnam = await OpenConsoleAsync();
        await SignInAsync(gangnam, TestOperators.Gangnam);
        await gangnam.GetByTestId("tab-map").ClickAsync();
        await Expect(gangnam.GetByTestId("map-whole-city")).ToBeVisibleAsync();
        double[] view = await ViewBoxAsync(gangnam);
        Assert.InRange(view[2], cityWidth / 10, cityWidth / 2);

        // 강남구's own outline lies inside the view.
        double[] box = await gangnam.Locator("[data-testid=map-district][data-code='11680']").EvaluateAsync<double[]>("p => { const b = p.getBBox(); return [b.x, b.y, b.width, b.height]; }");
        Assert.True(box[0] >= view[0] && box[1] >= view[1] && box[0] + box[2] <= view[0] + view[2] && box[1] + box[3] <= view[1] + view[3]);
        Assert.Empty(_pageErrors);
    }

    [Fact]
    [Trait("Category", "SeoulData")]
    public async Task The_alarm_detail_lists_the_nearest_Anshimi_cameras_and_the_map_draws_them_around_the_alarm()
    {
        (double lat, double lon) = (37.5404, 127.0692);
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x0160, 1, (lat, lon), address: "서울특별시 광진구 능동로 110"));
        List<(Cameras.RawCctv.Point Point, double Metres)> nearest = Cameras.RawCctv.Nearest(lat, lon, 150, 10);
        IPage page = await OpenConsoleAsync();
        await Expect(page.GetByTestId("data-attribution")).ToContainTextAsync("서울 열린데이터광장");
        await SignInAsync(page, TestOperators.Central);

        ILocator row = Row(page, "00000160:1");
        await Expect(row.GetByTestId("alarm-neighbourhood")).ToHaveTextAsync("화양동");
        await row.ClickAsync();
        await Expect(page.GetByTestId("detail-place")).ToContainTextAsync("광진구 화양동");
        await Expect(page.GetByTestId("detail-camera")).ToHaveCountAsync(10);
        await Expect(page.GetByTestId("detail-camera").First).ToContainTextAsync(nearest[0].Point.Label);
        await Expect(page.GetByTestId("detail-camera").Last).ToContainTextAsync(nearest[9].Point.Label);
        await Expect(page.GetByTestId("detail-cameras-radius")).ToHaveTextAsync("반경 150 m");
        await ScreenshotAsync(page, "console-alarm-cameras");

        await page.GetByTestId("cameras-on-map").ClickAsync();
        ILocator markers = page.Locator("[data-testid=district-map] [data-testid=marker-camera]");
        await Expect(markers).ToHaveCountAsync(10);
        await Expect(page.Locator("[data-testid=district-map] [data-testid=marker-alarm][data-id='00000160:1']")).ToBeVisibleAsync();

        // Every camera is drawn inside the zoomed view, around the alarm, at the file's own positions.
        double[] view = await ViewBoxAsync(page);
        double[] alarm = await page.Locator("[data-testid=marker-alarm][data-id='00000160:1']").EvaluateAsync<double[]>("c => [+c.getAttribute('cx'), +c.getAttribute('cy')]");
        double[][] drawn = await markers.EvaluateAllAsync<double[][]>("cs => cs.map(c => [+c.getAttribute('cx'), +c.getAttribute('cy')])");
        Assert.All(drawn, c =>
        {
            Assert.InRange(c[0], view[0], view[0] + view[2]);
            Assert.InRange(c[1], view[1], view[1] + view[3]);
        });
        double metresPerUnit = 300 * 1.6 / view[3];
        Assert.All(drawn, c => Assert.True(Math.Sqrt(Math.Pow(c[0] - alarm[0], 2) + Math.Pow(c[1] - alarm[1], 2)) * metresPerUnit < 250, "camera drawn far from the alarm"));
        await ScreenshotAsync(page, "console-map-cameras");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    [Trait("Category", "Privacy")]
    public async Task The_console_works_under_its_content_security_policy_and_signing_out_ends_the_session()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x0500, 1, TestAlarms.GangnamGuOffice);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        TestSnapshots.Write(_host, alarm.Key, alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        IPage page = await OpenConsoleAsync();
        await page.AddInitScriptAsync(
            "window.cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));");
        await page.ReloadAsync();

        // Everything the console does: live stream, sound, detail with the snapshot (a blob: image), the map's SVG.
        await SignInAsync(page, TestOperators.Gangnam);
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");
        AlarmEnvelope live = TestAlarms.Alarm(0x0501, 1, TestAlarms.GangnamGuOffice);
        await _host.BindAsync(TestAlarms.EventsTopic(), live);
        _mqtt.Deliver(TestAlarms.EventsTopic(), live);
        await Expect(Row(page, live.Key)).ToBeVisibleAsync();
        await page.GetByTestId("sound-toggle").ClickAsync();
        await Row(page, alarm.Key).ClickAsync();
        await page.GetByTestId("alarm-detail").GetByTestId("snapshot-button").ClickAsync();
        await Expect(page.GetByTestId("alarm-detail").GetByTestId("snapshot-image")).ToBeVisibleAsync();
        await page.GetByTestId("tab-map").ClickAsync();
        await Expect(page.GetByTestId("map-district")).ToHaveCountAsync(25);
        await page.GetByTestId("tab-queue").ClickAsync();
        Assert.Empty(await page.EvaluateAsync<string[]>("window.cspViolations"));
        Assert.Empty(_pageErrors);

        string saved = (await page.Context.CookiesAsync()).Single(c => c.Name == Anshimi.CloudBridge.Operators.OperatorAuthentication.CookieName).Value;
        await page.GetByTestId("sign-out").ClickAsync();
        await Expect(page.GetByTestId("signin-view")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("alarm-table")).ToBeHiddenAsync();
        await ScreenshotAsync(page, "console-signed-out");

        using var stolen = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = _host.BaseAddress };
        stolen.DefaultRequestHeaders.Add("Cookie", Anshimi.CloudBridge.Operators.OperatorAuthentication.CookieName + "=" + saved);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await stolen.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);

        // Signed in again, then moved to another district by central staff: the open console is signed out.
        await SignInAsync(page, TestOperators.Gangnam);
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");
        var moved = new Anshimi.CloudBridge.Operators.OperatorSeed
        {
            UserName = TestOperators.Gangnam.UserName, Password = TestOperators.Gangnam.Password, Districts = [TestOperators.JongnoCode],
        };
        await _host.Services.GetRequiredService<Anshimi.CloudBridge.Operators.OperatorSignIn>().SaveAsync(moved, replace: true, TestOperators.Central.UserName, CancellationToken.None);
        // Stream re-check (5 s), EventSource retry (2 s), the console's 3 s pause: generous, for a machine under load.
        await Expect(page.GetByTestId("signin-error")).ToHaveTextAsync("세션이 만료되었습니다. 다시 로그인하세요.", new() { Timeout = 90_000 });
        await Expect(page.GetByTestId("signin-view")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "console-session-ended-by-account-change");
        Assert.Empty(await page.EvaluateAsync<string[]>("window.cspViolations"));
    }

    private static async Task<double> MapWidthAsync(IPage page) => (await ViewBoxAsync(page))[2];

    private static Task<double[]> ViewBoxAsync(IPage page) =>
        page.GetByTestId("district-map").EvaluateAsync<double[]>("svg => svg.getAttribute('viewBox').split(' ').map(Number)");

    [Fact]
    [Trait("Category", "Privacy")]
    public async Task A_resolved_alarm_shows_no_address_to_its_district_and_central_staff_see_it_only_after_opening_the_case_with_a_reason()
    {
        const string home = "서울특별시 강남구 학동로 426 101동 1203호";
        AlarmEnvelope alarm = TestAlarms.Alarm(0x0500, 1, TestAlarms.GangnamGuOffice, address: home);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        TestSnapshots.Write(_host, alarm.Key, alarm.DeviceId, TestSnapshots.Png, DateTimeOffset.UtcNow);
        AuditLog audit = _host.Services.GetRequiredService<AuditLog>();

        IPage gangnam = await OpenConsoleAsync();
        await SignInAsync(gangnam, TestOperators.Gangnam);
        await Expect(Row(gangnam, alarm.Key).GetByTestId("alarm-address")).ToContainTextAsync(home);
        await Row(gangnam, alarm.Key).ClickAsync();
        ILocator detail = gangnam.GetByTestId("alarm-detail");
        await Expect(detail.GetByTestId("detail-place")).ToContainTextAsync(home);
        await detail.GetByTestId("resolve-button").ClickAsync();
        await Expect(detail.GetByTestId("detail-state")).ToHaveTextAsync("종결");
        await Expect(detail.GetByTestId("detail-place")).ToContainTextAsync("주소 비공개");
        await Expect(detail.GetByTestId("detail-place")).Not.ToContainTextAsync(home);
        await Expect(Row(gangnam, alarm.Key).GetByTestId("alarm-address")).Not.ToContainTextAsync(home);
        await Expect(detail.GetByTestId("case-form")).ToBeHiddenAsync();
        await Expect(detail.GetByTestId("snapshot-button")).ToBeDisabledAsync();
        await ScreenshotAsync(gangnam, "console-resolved-detail-district-operator");

        IPage central = await OpenConsoleAsync();
        await SignInAsync(central, TestOperators.Central);
        await Row(central, alarm.Key).ClickAsync();
        ILocator centralDetail = central.GetByTestId("alarm-detail");
        await Expect(centralDetail.GetByTestId("detail-place")).ToContainTextAsync("주소 비공개");
        await Expect(centralDetail.GetByTestId("case-form")).ToBeVisibleAsync();
        await Expect(centralDetail.GetByTestId("snapshot-button")).ToBeDisabledAsync();
        await centralDetail.GetByTestId("case-reason").FillAsync("경찰 수사 협조 요청 (강남서 2026-118)");
        await centralDetail.GetByTestId("case-open").ClickAsync();
        await Expect(centralDetail.GetByTestId("detail-place")).ToContainTextAsync(home);
        await Expect(centralDetail.GetByTestId("case-status")).ToBeVisibleAsync();
        await Expect(centralDetail.GetByTestId("case-form")).ToBeHiddenAsync();
        await centralDetail.GetByTestId("snapshot-button").ClickAsync();
        await Expect(centralDetail.GetByTestId("snapshot-image")).ToBeVisibleAsync();
        await ScreenshotAsync(central, "console-resolved-detail-central-case-opened");

        AuditRecord opened = Assert.Single(await audit.ListAsync(50, alarm.Key, CancellationToken.None), r => r.Entry.Action == AuditAction.CaseOpen);
        Assert.Equal((TestOperators.Central.UserName, "reason=경찰 수사 협조 요청 (강남서 2026-118)"), (opened.Entry.Actor, opened.Entry.Detail));
        // One audited view per opening of the detail, not one per stream update or list reload.
        Assert.Equal(2, (await audit.ListAsync(50, alarm.Key, CancellationToken.None)).Count(r => r.Entry.Action == AuditAction.AlarmView));

        // The district operator still sees no address, however often the console reloads.
        await gangnam.ReloadAsync();
        await Expect(Row(gangnam, alarm.Key)).ToBeVisibleAsync();
        Assert.DoesNotContain(home, await gangnam.ContentAsync(), StringComparison.Ordinal);

        // Central staff's retention report sits under the audit log.
        await central.GetByTestId("tab-audit").ClickAsync();
        await Expect(central.GetByTestId("retention-period")).ToHaveCountAsync(8);
        await Expect(central.Locator("[data-testid=retention-period][data-table=location_traces]")).ToContainTextAsync("7 일");
        Assert.Empty(_pageErrors);
    }

    private static ILocator Row(IPage page, string key) => page.Locator($"[data-testid=alarm-row][data-key='{key}']");

    private static async Task SignInAsync(IPage page, TestOperator user)
    {
        await page.GetByTestId("signin-user").FillAsync(user.UserName);
        await page.GetByTestId("signin-password").FillAsync(user.Password);
        await page.GetByTestId("signin-submit").ClickAsync();
    }

    private async Task<IPage> OpenConsoleAsync()
    {
        // One context per page: each has its own cookie jar, like separate operator workstations.
        IBrowserContext context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 }, Locale = "ko-KR" });
        IPage page = await context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _pageErrors.Add(message.Text + " " + message.Location);
            }
        };
        await page.GotoAsync(_host.BaseAddress.ToString());
        return page;
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
