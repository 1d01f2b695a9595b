using System.Net.Http.Headers;
using System.Net.Http.Json;
using Anshimi.CloudBridge.Api;
using Anshimi.CloudBridge.Firmware;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Upstream;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Anshimi.CloudBridge.Tests.Firmware;

/// <summary>
/// The console's firmware tab (펌웨어) in Debian's chromium: each device's version and update state, and for central
/// staff the rollouts, halted by a canary failure and cancelled from the console. Envelopes reach the bridge's real
/// ingress as the other console tests send them.
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Ota")]
public sealed class FirmwareConsoleBrowserTests : IAsyncLifetime, IDisposable
{
    private static readonly string ScreenshotDirectory = RepoPaths.Combine("tests", "Anshimi.CloudBridge.Tests", "TestResults", "screenshots");
    private readonly ReleaseKey _key = ReleaseKey.Generate();
    private readonly List<string> _pageErrors = [];
    private CloudBridgeHost _host = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), TestFirmware.Settings(_key));
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
    }

    public void Dispose() => _key.Dispose();

    [Fact]
    public async Task Central_staff_see_versions_update_states_and_a_halted_rollout_they_cancel_and_a_district_operator_sees_only_their_devices()
    {
        await InjectAsync(TestAlarms.Bound(0xA001, TestAlarms.GangnamGuOffice, profile: "home"));
        await InjectAsync(TestAlarms.Bound(0xA003, TestAlarms.JongnoGuOffice, profile: "home"));
        await InjectAsync(TestAlarms.Bound(0xA005, TestAlarms.GangnamGuOffice, profile: "battery"));
        await ReportAsync(0xA001, "idle", null, null);
        await ReportAsync(0xA003, "idle", null, null);
        string releaseId = await UploadAsync();
        RolloutView rollout = await StartAsync(releaseId);
        await ReportAsync(0xA001, "downloading", releaseId, rollout.RolloutId, done: 3);

        IPage central = await OpenConsoleAsync(TestOperators.Central);
        await central.GetByTestId("tab-firmware").ClickAsync();
        await Expect(Row(central, "0000A001").GetByTestId("firmware-state")).ToHaveTextAsync("내려받는 중 Downloading 3/5");
        await Expect(Row(central, "0000A003").GetByTestId("firmware-state")).ToHaveTextAsync("대기 Idle");
        await Expect(Row(central, "0000A005").GetByTestId("firmware-state")).ToContainTextAsync("설치기사 방문");
        await Expect(Row(central, "0000A001").Locator("td").Nth(3)).ToHaveTextAsync("1.0.0");
        await Expect(RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-state")).ToHaveTextAsync("진행 중 Running");

        await ReportAsync(0xA001, "rolled-back", releaseId, rollout.RolloutId, reason: "crashed");
        await Eventually.HoldsAsync(async () => (await RolloutAsync(rollout.RolloutId)).State == RolloutState.Halted, "halted");
        await central.GetByTestId("tab-firmware").ClickAsync();
        await Expect(Row(central, "0000A001").GetByTestId("firmware-state")).ToHaveTextAsync("이전 버전 복귀 Rolled back (crashed)");
        await Expect(RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-state")).ToHaveTextAsync("자동 중단 Halted (failure_threshold)");
        await Expect(RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-resume")).ToBeVisibleAsync();
        await ScreenshotAsync(central, "console-firmware-halted");

        await RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-cancel").ClickAsync();
        await Expect(RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-state")).ToHaveTextAsync("취소됨 Cancelled");
        await Expect(RolloutRow(central, rollout.RolloutId).GetByTestId("rollout-cancel")).ToHaveCountAsync(0);
        Assert.Equal(RolloutState.Cancelled, (await RolloutAsync(rollout.RolloutId)).State);

        IPage gangnam = await OpenConsoleAsync(TestOperators.Gangnam);
        await gangnam.GetByTestId("tab-firmware").ClickAsync();
        await Expect(Row(gangnam, "0000A001")).ToBeVisibleAsync();
        await Expect(gangnam.GetByTestId("firmware-row")).ToHaveCountAsync(2);
        await Expect(gangnam.GetByTestId("rollout-list")).ToBeHiddenAsync();
        Assert.Empty(_pageErrors);
    }

    private static ILocator Row(IPage page, string deviceId) => page.Locator($"[data-testid=firmware-row][data-device='{deviceId}']");

    private static ILocator RolloutRow(IPage page, string rolloutId) => page.Locator($"[data-testid=rollout-row][data-rollout='{rolloutId}']");

    private Task InjectAsync(Envelope envelope) =>
        _host.Ingress.HandleAsync(TestAlarms.EventsTopic(), EnvelopeSerializer.Serialize(envelope), CancellationToken.None);

    private Task ReportAsync(uint device, string state, string? releaseId, string? rolloutId, string? reason = null, int done = 0) =>
        InjectAsync(new FirmwareStateEnvelope(TestAlarms.Gateway, Protocol.DeviceIdText.Format(device), releaseId, rolloutId, state, reason, done,
            releaseId is null ? 0 : 5, "1.0.0", "1.0.0", "home-bell", DateTimeOffset.UtcNow));

    private async Task<string> UploadAsync()
    {
        var content = new ByteArrayContent(TestFirmware.Release(_key));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await _host.Http.PostAsync(new Uri("/api/firmware/releases", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ReleaseView>())!.ReleaseId;
    }

    private async Task<RolloutView> StartAsync(string releaseId)
    {
        using HttpResponseMessage response = await _host.Http.PostAsJsonAsync(new Uri("/api/firmware/rollouts", UriKind.Relative),
            new { releaseId, canary = new[] { "0000A001" }, districtCode = TestOperators.GangnamCode });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<RolloutView>())!;
    }

    private async Task<RolloutView> RolloutAsync(string rolloutId) =>
        (await _host.Http.GetFromJsonAsync<RolloutView>(new Uri("/api/firmware/rollouts/" + rolloutId, UriKind.Relative)))!;

    private async Task<IPage> OpenConsoleAsync(TestOperator user)
    {
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
        await page.GetByTestId("signin-user").FillAsync(user.UserName);
        await page.GetByTestId("signin-password").FillAsync(user.Password);
        await page.GetByTestId("signin-submit").ClickAsync();
        await Expect(page.GetByTestId("tab-firmware")).ToBeVisibleAsync();
        return page;
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
