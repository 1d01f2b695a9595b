using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Operators;

/// <summary>
/// Sign-in and sessions that cannot be turned against operators, over real HTTP against the bridge and its real
/// operators.db: attackers' wrong passwords, unknown names, stolen cookies, account changes during a live stream,
/// the status paths and the security headers. Attackers and consoles connect from their own loopback addresses
/// (127.0.0.x), which the bridge sees as different sources.
/// </summary>
[Trait("Category", "Privacy")]
public sealed class AccountPrivacyTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private readonly CountingPasswordHasher _hasher = new();
    private readonly int _adminPort = FreePort.Next();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await CloudBridgeHost.StartAsync(_mqtt, Settings(), configure: services => services.AddSingleton<IPasswordHasher<OperatorAccount>>(_hasher));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Fifty_wrong_passwords_from_an_attacker_do_not_keep_the_operator_out()
    {
        using HttpClient attacker = ClientFrom("127.0.0.2");
        var answers = new List<HttpResponseMessage>();
        for (int i = 0; i < 50; i++)
        {
            answers.Add(await SignInAsync(attacker, TestOperators.Gangnam.UserName, "wrong-password-" + i));
        }

        Assert.All(answers.Take(5), a => Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode));
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        HttpResponseMessage refused = answers.Last(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        // Every attempt is in the audit log, counted in a few rows rather than one commit each.
        await _host.Services.GetRequiredService<SignInFailureAudit>().FlushAsync(CancellationToken.None);
        IReadOnlyList<AuditRecord> audited = await _host.Services.GetRequiredService<AuditLog>().ListAsync(100, TestOperators.Gangnam.UserName, CancellationToken.None);
        int Counted(string action) => audited.Where(e => e.Entry.Action == action && e.Entry.Detail.Contains("from 127.0.0.2", StringComparison.Ordinal))
            .Sum(e => int.Parse(e.Entry.Detail.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized), Counted(AuditAction.SignInFailed));
        Assert.Equal(answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests), Counted(AuditAction.SignInThrottled));
        Assert.InRange(audited.Count(e => e.Entry.Action is AuditAction.SignInFailed or AuditAction.SignInThrottled), 2, 9);

        // The operator's console, elsewhere, signs in with the right password — held a moment at most, never refused.
        using HttpClient console = ClientFrom("127.0.0.3");
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(console, TestOperators.Gangnam.UserName, TestOperators.Gangnam.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await console.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);

        // Even from the attacker's own address, the right password works once that address's delay has passed.
        HttpResponseMessage stillRefused = await SignInAsync(attacker, TestOperators.Gangnam.UserName, TestOperators.Gangnam.Password);
        if (stillRefused.StatusCode == HttpStatusCode.TooManyRequests)
        {
            await Task.Delay(stillRefused.Headers.RetryAfter!.Delta!.Value);
        }

        using HttpClient sameAddress = ClientFrom("127.0.0.2");
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(sameAddress, TestOperators.Gangnam.UserName, TestOperators.Gangnam.Password)).StatusCode);
    }

    [Fact]
    public async Task Central_staff_are_never_locked_out_from_outside()
    {
        for (int source = 10; source < 15; source++)
        {
            using HttpClient attacker = ClientFrom("127.0.0." + source);
            for (int i = 0; i < 10; i++)
            {
                Assert.NotEqual(HttpStatusCode.OK, (await SignInAsync(attacker, TestOperators.Central.UserName, "wrong-password-" + i)).StatusCode);
            }
        }

        using HttpClient console = ClientFrom("127.0.0.20");
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(console, TestOperators.Central.UserName, TestOperators.Central.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await console.GetAsync(new Uri("/api/audit", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Unknown_and_known_names_get_the_same_answers_for_the_same_work()
    {
        var answers = new Dictionary<string, List<string>>();
        var checks = new Dictionary<string, int>();
        foreach ((string name, int block) in new[] { (TestOperators.Jongno.UserName, 30), ("no-such-operator", 40) })
        {
            int before = _hasher.Verified.Count;
            answers[name] = [];

            // Seven attempts, each from its own address: past the free ones, the name's growing delay applies alike.
            for (int i = 0; i < 7; i++)
            {
                using HttpClient client = ClientFrom("127.0.0." + (block + i));
                using HttpResponseMessage response = await SignInAsync(client, name, "wrong-password-" + i);
                JsonObject body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
                body.Remove("traceId");
                answers[name].Add((int)response.StatusCode + " " + response.Content.Headers.ContentType + " " + body.ToJsonString());
            }

            checks[name] = _hasher.Verified.Count - before;
        }

        Assert.Equal(answers[TestOperators.Jongno.UserName], answers["no-such-operator"]);
        Assert.All(answers["no-such-operator"], a => Assert.StartsWith("401 application/problem+json", a, StringComparison.Ordinal));
        Assert.Equal(7, checks[TestOperators.Jongno.UserName]);
        Assert.Equal(7, checks["no-such-operator"]);

        // Every check — real account or not — ran PBKDF2 with the same format, function, iterations and salt size.
        Assert.Single(_hasher.Verified.Select(CountingPasswordHasher.Parameters).Distinct());
    }

    [Fact]
    public async Task Signing_out_ends_every_session_and_a_saved_cookie_is_refused_and_not_renewed()
    {
        // Short sessions, so a live cookie past half its life is renewed: the stolen one must not be.
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new Dictionary<string, string?>
        {
            ["Operators:SessionTimeout"] = "00:00:08",
        });
        (HttpClient first, CookieContainer cookies) = ConsoleFor(host, "127.0.0.2");
        using HttpClient firstConsole = first;
        await CloudBridgeHost.SignInAsync(firstConsole, TestOperators.Gangnam);
        using HttpClient secondConsole = await host.SignedInAsync(TestOperators.Gangnam);
        string saved = cookies.GetCookieHeader(host.BaseAddress);
        Assert.Contains(OperatorAuthentication.CookieName + "=", saved, StringComparison.Ordinal);

        await Task.Delay(TimeSpan.FromSeconds(4.5));
        using (HttpResponseMessage live = await firstConsole.GetAsync(new Uri("/api/alarms", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Contains(live.Headers.TryGetValues("Set-Cookie", out IEnumerable<string>? renewed) ? renewed : [],
                c => c.StartsWith(OperatorAuthentication.CookieName + "=", StringComparison.Ordinal));
        }

        Assert.Equal(HttpStatusCode.NoContent, (await firstConsole.PostAsync(new Uri("/api/session/sign-out", UriKind.Relative), null)).StatusCode);

        using var stolen = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = host.BaseAddress };
        stolen.DefaultRequestHeaders.Add("Cookie", saved);
        using HttpResponseMessage refused = await stolen.GetAsync(new Uri("/api/alarms", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain(refused.Headers.TryGetValues("Set-Cookie", out IEnumerable<string>? set) ? set : [],
            c => c.StartsWith(OperatorAuthentication.CookieName + "=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(HttpStatusCode.NoContent, (await stolen.GetAsync(new Uri("/api/session", UriKind.Relative))).StatusCode);

        // The other console of the same operator is signed out too, and nothing of the account's sessions is left.
        Assert.Equal(HttpStatusCode.Unauthorized, (await secondConsole.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);
        Assert.Equal(0, await host.Services.GetRequiredService<OperatorAccountStore>().CountSessionsAsync(TestOperators.Gangnam.UserName, CancellationToken.None));
    }

    [Theory]
    [InlineData("district")]
    [InlineData("password")]
    [InlineData("disabled")]
    [InlineData("disabled-by-another-process")]
    public async Task An_account_change_ends_the_open_live_stream_and_the_next_request(string change)
    {
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        using SseReader stream = await SseReader.OpenAsync(gangnam, "/api/alarms/stream");
        Assert.Equal("ready", (await stream.NextAsync()).Event);
        OperatorSignIn accounts = _host.Services.GetRequiredService<OperatorSignIn>();
        var seed = new OperatorSeed { UserName = TestOperators.Gangnam.UserName, Password = TestOperators.Gangnam.Password, Districts = [TestOperators.GangnamCode] };

        switch (change)
        {
            case "district":
                seed.Districts = [TestOperators.JongnoCode];
                Assert.True(await accounts.SaveAsync(seed, replace: true, "test", CancellationToken.None));
                break;
            case "password":
                seed.Password = "a-new-password-5678";
                Assert.True(await accounts.SaveAsync(seed, replace: true, "test", CancellationToken.None));
                break;
            case "disabled":
                Assert.True(await accounts.SetDisabledAsync(seed.UserName, disabled: true, "test", CancellationToken.None));
                break;
            default:
                // What the command line does from its own process: only operators.db is shared.
                using (StoreDatabase operators = TestStorage.OpenSqlite(_host.DataDirectory, StoreFile.Operators))
                {
                    Assert.True(await new OperatorAccountStore(operators).SetDisabledAsync(seed.UserName, disabled: true, CancellationToken.None));
                }

                break;
        }

        // A Jongno alarm now would be visible to the changed account; the old stream must not carry it.
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x2201, 1, TestAlarms.JongnoGuOffice, address: "서울특별시 종로구 삼봉로 43"));
        await Assert.ThrowsAsync<EndOfStreamException>(() => stream.NextAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gangnam.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);

        using HttpClient again = _host.Client();
        HttpResponseMessage signIn = await SignInAsync(again, seed.UserName, seed.Password);
        if (change.StartsWith("disabled", StringComparison.Ordinal))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        JsonElement me = await again.GetFromJsonAsync<JsonElement>(new Uri("/api/session", UriKind.Relative));
        Assert.Equal(seed.Districts[0], me.GetProperty("districts")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_account_change_while_the_password_is_being_checked_leaves_that_sign_in_without_a_session()
    {
        OperatorSignIn accounts = _host.Services.GetRequiredService<OperatorSignIn>();
        var moved = new OperatorSeed { UserName = TestOperators.Gangnam.UserName, Password = TestOperators.Gangnam.Password, Districts = [TestOperators.JongnoCode] };
        // Central staff move the account after the sign-in has read it but before its session is stored.
        _hasher.WhileVerifying = () => accounts.SaveAsync(moved, replace: true, "test", CancellationToken.None).GetAwaiter().GetResult();

        using HttpClient console = _host.Client();
        HttpResponseMessage signIn = await SignInAsync(console, TestOperators.Gangnam.UserName, TestOperators.Gangnam.Password);
        _hasher.WhileVerifying = null;

        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await console.GetAsync(new Uri("/api/alarms/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await console.GetAsync(new Uri("/api/neighbourhoods", UriKind.Relative))).StatusCode);
        Assert.Equal(0, await _host.Services.GetRequiredService<OperatorAccountStore>().CountSessionsAsync(TestOperators.Gangnam.UserName, CancellationToken.None));

        // Signed in again, the session has the account's rights as they are now.
        using HttpClient again = _host.Client();
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(again, moved.UserName, moved.Password)).StatusCode);
        JsonElement me = await again.GetFromJsonAsync<JsonElement>(new Uri("/api/session", UriKind.Relative));
        Assert.Equal(TestOperators.JongnoCode, me.GetProperty("districts")[0].GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/api/upstreams")]
    [InlineData("/openapi/v1.json")]
    public async Task Status_metrics_and_openapi_need_central_staff_on_the_console_listener_and_nothing_on_the_admin_listener(string path)
    {
        using HttpClient anonymous = _host.Client();
        using HttpClient gangnam = await _host.SignedInAsync(TestOperators.Gangnam);
        using var admin = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:" + _adminPort) };

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gangnam.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);

        // A Host header naming the admin port does not make the console listener one.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        spoofed.Headers.Host = "127.0.0.1:" + _adminPort;
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(spoofed)).StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/alarms")]
    [InlineData("/api/session")]
    public async Task The_admin_listener_serves_nothing_but_the_admin_paths(string path)
    {
        using var admin = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:" + _adminPort) };

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        Assert.Equal("Healthy", await admin.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Theory]
    [InlineData("/", false)]
    [InlineData("/console.js", false)]
    [InlineData("/api/session", false)]
    [InlineData("/api/alarms", false)]
    [InlineData("/api/alarms", true)]
    [InlineData("/no-such-page", false)]
    [InlineData("/healthz", false)]
    public async Task Every_console_response_carries_the_security_headers(string path, bool signedIn)
    {
        using HttpClient client = signedIn ? await _host.SignedInAsync(TestOperators.Jongno) : _host.Client();

        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));

        string csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["CloudBridge:AdminUrl"] = "http://127.0.0.1:" + _adminPort,
        ["Operators:FreeFailedSignIns"] = "5",
        ["Operators:SignInDelay"] = "00:00:00.100",
        ["Operators:MaxUserNameDelay"] = "00:00:00.500",
        ["Operators:MaxSourceDelay"] = "00:00:02",
        ["Operators:StreamSessionCheck"] = "00:00:00.200",
    };

    private HttpClient ClientFrom(string source) => ConsoleFor(_host, source).Client;

    /// <summary>A console connecting from <paramref name="source"/> (a loopback address), keeping its cookies.</summary>
    private static (HttpClient Client, CookieContainer Cookies) ConsoleFor(CloudBridgeHost host, string source)
    {
        var cookies = new CookieContainer();
        var handler = new SocketsHttpHandler
        {
            CookieContainer = cookies,
            UseCookies = true,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add(OperatorAuthentication.RequestHeader, "test");
        return (client, cookies);
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string user, string password) =>
        client.PostAsJsonAsync(new Uri("/api/session", UriKind.Relative), new { userName = user, password });

    /// <summary>The real PBKDF2 hasher, noting each hash it verifies against.</summary>
    private sealed class CountingPasswordHasher : IPasswordHasher<OperatorAccount>
    {
        private readonly PasswordHasher<OperatorAccount> _inner = new();

        public ConcurrentQueue<string> Verified { get; } = new();

        /// <summary>Format marker, PRF, iteration count and salt length: the header of an Identity v3 hash.</summary>
        public static string Parameters(string hash) => Convert.ToHexString(Convert.FromBase64String(hash), 0, 13);

        public string HashPassword(OperatorAccount user, string password) => _inner.HashPassword(user, password);

        /// <summary>Runs inside the next verifications, between the account's read and the session's storing.</summary>
        public Action? WhileVerifying { get; set; }

        public PasswordVerificationResult VerifyHashedPassword(OperatorAccount user, string hashedPassword, string providedPassword)
        {
            Verified.Enqueue(hashedPassword);
            WhileVerifying?.Invoke();
            return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }
}
