using Anshimi.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>
/// An alarm a DC-09 receiver would not take (DUH), as central staff see it in the console (Debian's chromium,
/// headless): in the device-health tab, with the receiver's reason, in Korean and in English; district operators
/// do not get the list.
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "HighAvailability")]
public sealed class UpstreamConsoleBrowserTests : IAsyncLifetime
{
    private const string Station = "central-station";

    private readonly Dc09TestReceiver _receiver = new() { Otherwise = ReceiverBehavior.Duh };
    private readonly List<string> _pageErrors = [];
    private CloudBridgeHost _host = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _receiver.Start();
        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Station, _receiver.Port).Values);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
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
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Central_staff_see_the_held_alarm_with_the_receivers_reason_in_korean_and_english()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x19, 1, TestAlarms.GangnamGuOffice));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(_host, Station)).Held == 1, "the alarm held");

        IPage central = await OpenConsoleAsync(TestOperators.Central);
        await central.GetByTestId("tab-health").ClickAsync();
        ILocator section = central.GetByTestId("health-upstream-waiting");
        await Expect(section.Locator("h3")).ToHaveTextAsync("경보 수신기 전달 대기 (1)");
        ILocator item = section.GetByTestId("health-item");
        await Expect(item).ToContainTextAsync("00000019:1 · central-station · 수신 불가 — 조치 필요");
        await Expect(item).ToContainTextAsync("DUH");

        await central.GetByTestId("lang-en").ClickAsync();
        await central.GetByTestId("tab-queue").ClickAsync();
        await central.GetByTestId("tab-health").ClickAsync();
        await Expect(section.Locator("h3")).ToHaveTextAsync("Alarms waiting for an alarm receiver (1)");
        await Expect(section.GetByTestId("health-item")).ToContainTextAsync("not taken — needs a person");

        IPage district = await OpenConsoleAsync(TestOperators.Gangnam);
        await district.GetByTestId("tab-health").ClickAsync();
        await Expect(district.GetByTestId("health-silent")).ToBeVisibleAsync();
        await Expect(district.GetByTestId("health-upstream-waiting")).ToHaveCountAsync(0);
        Assert.Empty(_pageErrors);
    }

    private async Task<IPage> OpenConsoleAsync(TestOperator user)
    {
        IBrowserContext context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = 1440, Height = 900 }, Locale = "ko-KR" });
        IPage page = await context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        await page.GotoAsync(_host.BaseAddress.ToString());
        await page.GetByTestId("signin-user").FillAsync(user.UserName);
        await page.GetByTestId("signin-password").FillAsync(user.Password);
        await page.GetByTestId("signin-submit").ClickAsync();
        await Expect(page.GetByTestId("signed-in-user")).ToBeVisibleAsync();
        return page;
    }
}
