using System.Security.Cryptography;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Anshimi.CloudBridge.Tests.Console;

/// <summary>
/// What the operator sees of an alarm, in Debian's chromium (headless): the doorbell's picture and the row's
/// actions beside the open detail panel. Screenshots go to tests/Anshimi.CloudBridge.Tests/TestResults/screenshots.
/// </summary>
[Trait("Category", "Privacy")]
[Trait("Category", "Browser")]
public sealed class ConsoleViewBrowserTests : IAsyncLifetime
{
    private static readonly string ScreenshotDirectory = RepoPaths.Combine("tests", "Anshimi.CloudBridge.Tests", "TestResults", "screenshots");

    private readonly FakeMqttClient _mqtt = new();
    private readonly List<string> _pageErrors = [];
    private CloudBridgeHost _host = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(_mqtt);
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
    }

    [Fact]
    public async Task The_doorbell_cameras_picture_that_reached_the_bridge_renders_in_the_detail_panel()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x00D0B311, 4, TestAlarms.GangnamGuOffice, code: ContactIdCode.Loitering);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        var camera = new SimulatedCamera(0x00D0B311, new VirtualClock());
        byte[] jpeg = camera.Capture()!;
        await _host.InjectAsync(
            TestAlarms.EventsTopic(),
            new SnapshotEnvelope(alarm.Key, TestAlarms.Gateway, alarm.DeviceId, alarm.Event, DateTimeOffset.UtcNow, "image/jpeg", Convert.ToHexStringLower(SHA256.HashData(jpeg)), jpeg));

        IPage page = await OpenConsoleAsync(1440);
        await SignInAsync(page, TestOperators.Gangnam);
        await Row(page, alarm.Key).ClickAsync();
        ILocator detail = page.GetByTestId("alarm-detail");
        await Expect(detail.GetByTestId("detail-event")).ToContainTextAsync("수상한 방문자");
        await detail.GetByTestId("snapshot-button").ClickAsync();

        ILocator image = detail.GetByTestId("snapshot-image");
        await Expect(image).ToBeVisibleAsync();
        await Expect(image).ToHaveJSPropertyAsync("complete", true);
        Assert.Equal(SimulatedCamera.DefaultWidth, await image.EvaluateAsync<int>("img => img.naturalWidth"));
        Assert.Equal(SimulatedCamera.DefaultHeight, await image.EvaluateAsync<int>("img => img.naturalHeight"));
        await ScreenshotAsync(page, "console-doorbell-snapshot");
        Assert.Empty(_pageErrors);
    }

    [Theory]
    [InlineData(1440, 900)]
    [InlineData(1280, 800)]
    [InlineData(1366, 768)]
    [InlineData(1920, 1080)]
    [InlineData(1024, 768)]
    public async Task The_open_detail_panel_leaves_every_rows_actions_visible_and_clickable(int width, int height)
    {
        AlarmEnvelope selected = TestAlarms.Alarm(0x0510, 1, TestAlarms.GangnamGuOffice, address: "서울특별시 강남구 테헤란로 152 강남파이낸스센터 지하 1층 주차장 입구 옆 비상벨");
        AlarmEnvelope other = TestAlarms.Alarm(0x0511, 1, TestAlarms.GangnamGuOffice, code: ContactIdCode.Loitering);
        await _host.InjectAsync(TestAlarms.EventsTopic(), selected);
        await _host.InjectAsync(TestAlarms.EventsTopic(), other);

        IPage page = await OpenConsoleAsync(width, height);
        await SignInAsync(page, TestOperators.Gangnam);
        await Row(page, selected.Key).ClickAsync();
        ILocator detail = page.GetByTestId("alarm-detail");
        await Expect(detail).ToBeVisibleAsync();
        await Expect(detail.GetByTestId("detail-key")).ToHaveTextAsync(selected.Key);

        foreach (string key in new[] { selected.Key, other.Key })
        {
            ILocator buttons = Row(page, key).GetByTestId("alarm-actions").Locator("button");
            Assert.Equal(3, await buttons.CountAsync());
            for (int i = 0; i < 3; i++)
            {
                ILocator button = buttons.Nth(i);
                await Expect(button).ToBeVisibleAsync();

                // Inside the window without scrolling, clear of the panel, and the topmost thing at its centre.
                Assert.True(
                    await button.EvaluateAsync<bool>(
                        @"b => {
                            const r = b.getBoundingClientRect(), p = document.querySelector('[data-testid=alarm-detail]').getBoundingClientRect();
                            const inWindow = r.left >= 0 && r.right <= document.documentElement.clientWidth && r.width > 0;
                            const clear = r.right <= p.left || r.left >= p.right || r.bottom <= p.top || r.top >= p.bottom;
                            return inWindow && clear && b.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
                        }"),
                    $"{key} action {i} at {width}×{height} is hidden, off screen or under the detail panel");
            }
        }

        await ScreenshotAsync(page, $"console-detail-actions-{width}");

        // Clicking the other row's acknowledge really acts, with the panel still open on the first alarm.
        await Row(page, other.Key).GetByTestId("ack-button").ClickAsync(new() { Timeout = 5000 });
        await Expect(Row(page, other.Key)).ToHaveAttributeAsync("data-state", "acknowledged");
        await Expect(detail.GetByTestId("detail-key")).ToHaveTextAsync(selected.Key);
        Assert.Empty(_pageErrors);
    }

    private static ILocator Row(IPage page, string key) => page.Locator($"[data-testid=alarm-row][data-key='{key}']");

    private static async Task SignInAsync(IPage page, TestOperator user)
    {
        await page.GetByTestId("signin-user").FillAsync(user.UserName);
        await page.GetByTestId("signin-password").FillAsync(user.Password);
        await page.GetByTestId("signin-submit").ClickAsync();
    }

    private async Task<IPage> OpenConsoleAsync(int width, int height = 900)
    {
        IBrowserContext context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height }, Locale = "ko-KR" });
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
