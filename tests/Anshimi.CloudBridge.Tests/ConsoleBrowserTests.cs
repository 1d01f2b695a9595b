using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Anshimi.CloudBridge.Tests;

/// <summary>The operator console in Debian's chromium, driven by Playwright.</summary>
[Trait("Category", "Browser")]
public sealed class ConsoleBrowserTests : IAsyncLifetime
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
    public async Task A_new_alarm_appears_live_and_the_operator_acknowledges_it()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x0100, 1, TestAlarms.SeoulCityHall, address: "서울특별시 중구 세종대로 110"));
        IPage page = await OpenConsoleAsync();
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");
        await Expect(page.GetByTestId("alarm-row")).ToHaveCountAsync(1);

        // Arrives through the relay while the page is open: no reload.
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA1B2, 5);
        _mqtt.Deliver(TestAlarms.EventsTopic(), alarm);

        ILocator row = page.Locator($"[data-testid=alarm-row][data-key='{alarm.Key}']");
        await Expect(row).ToBeVisibleAsync();
        await Expect(row).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("is-new"));
        await Expect(row.GetByTestId("alarm-district")).ToContainTextAsync("강남구");
        await Expect(row.GetByTestId("alarm-district")).ToContainTextAsync("Gangnam-gu");
        await Expect(row.GetByTestId("alarm-event")).ToContainTextAsync("비상벨");
        await Expect(row.GetByTestId("alarm-event")).ToContainTextAsync("Panic");
        await Expect(row.GetByTestId("alarm-test-tag")).ToBeHiddenAsync();
        await Expect(row.GetByTestId("alarm-device")).ToHaveTextAsync("0000A1B2");
        await Expect(row.GetByTestId("alarm-address")).ToContainTextAsync("학동로 426");
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("미확인");
        await Expect(page.GetByTestId("open-count")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("alarm-row").First).ToHaveAttributeAsync("data-key", alarm.Key);
        await ScreenshotAsync(page, "console-new-alarm");

        await row.GetByTestId("ack-button").ClickAsync();

        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("확인됨");
        await Expect(row.GetByTestId("ack-button")).ToBeDisabledAsync();
        await Expect(row.GetByTestId("resolve-button")).ToBeEnabledAsync();
        await Eventually.HoldsAsync(() => _mqtt.PublishedOf<OperatorAckEnvelope>(TestAlarms.CommandsTopic()).Any(a => a.Key == alarm.Key), "ack sent to the gateway");

        await page.GetByTestId("lang-en").ClickAsync();
        await Expect(row.GetByTestId("alarm-state")).ToHaveTextAsync("Acknowledged");
        await Expect(page.Locator("th").Nth(1)).ToHaveTextAsync("District");
        await ScreenshotAsync(page, "console-acknowledged-en");
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task Resolving_from_the_console_closes_the_alarm_for_every_operator()
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0x0200, 1);
        await _host.InjectAsync(TestAlarms.EventsTopic(), alarm);
        IPage first = await OpenConsoleAsync();
        IPage second = await OpenConsoleAsync();
        await Expect(second.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "live");

        await first.Locator($"[data-testid=alarm-row][data-key='{alarm.Key}']").GetByTestId("resolve-button").ClickAsync();

        ILocator elsewhere = second.Locator($"[data-testid=alarm-row][data-key='{alarm.Key}']");
        await Expect(elsewhere.GetByTestId("alarm-state")).ToHaveTextAsync("종결");
        await Expect(elsewhere.GetByTestId("resolve-button")).ToBeDisabledAsync();
        Assert.Empty(_pageErrors);
    }

    private async Task<IPage> OpenConsoleAsync()
    {
        IPage page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 }, Locale = "ko-KR" });
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
