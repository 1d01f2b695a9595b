using System.Net;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;

namespace Anshimi.CloudBridge.Tests.Operators;

/// <summary>
/// Two bridge instances on one PostgreSQL database, each with its own data directory: a console cookie issued by one is
/// accepted by the other (the data-protection keys and the sessions are in the database), survives the loss of the
/// instance that issued it, and a sign-out through either ends the session on both.
/// </summary>
[Trait("Category", "HighAvailability")]
public sealed class SharedSessionTests : IAsyncLifetime
{
    private TestStorage _storage = null!;
    private CloudBridgeHost _first = null!;
    private CloudBridgeHost _second = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);
        // Started together on the empty database, as a city deployment's instances come up.
        Task<CloudBridgeHost> first = CloudBridgeHost.StartAsync(new FakeMqttClient(), _storage.Settings);
        Task<CloudBridgeHost> second = CloudBridgeHost.StartAsync(new FakeMqttClient(), _storage.Settings);
        _first = await first;
        _second = await second;
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task A_cookie_from_one_instance_is_accepted_by_the_other_and_outlives_the_instance_that_issued_it()
    {
        var cookies = new CookieContainer();
        using HttpClient onFirst = Client(_first, cookies);
        using HttpClient onSecond = Client(_second, cookies);
        await CloudBridgeHost.SignInAsync(onFirst, TestOperators.Gangnam);

        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync(new Uri("/api/session", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);

        await _first.DisposeAsync();
        _first = await CloudBridgeHost.StartAsync(new FakeMqttClient(), _storage.Settings);

        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);
        using HttpClient onRestarted = Client(_first, cookies);
        Assert.Equal(HttpStatusCode.OK, (await onRestarted.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_sign_out_through_one_instance_ends_the_session_on_both()
    {
        var cookies = new CookieContainer();
        using HttpClient onFirst = Client(_first, cookies);
        using HttpClient onSecond = Client(_second, cookies);
        await CloudBridgeHost.SignInAsync(onSecond, TestOperators.Jongno);
        Assert.Equal(HttpStatusCode.OK, (await onFirst.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);

        string cookie = cookies.GetCookieHeader(_second.BaseAddress);

        using HttpResponseMessage signOut = await onFirst.PostAsync(new Uri("/api/session/sign-out", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);

        // The response cleared the browser's cookie; a copy kept from before must not work on the other instance either.
        using var replay = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = _second.BaseAddress };
        replay.DefaultRequestHeaders.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync(new Uri("/api/alarms", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await replay.GetAsync(new Uri("/api/session", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Instances_starting_together_on_an_empty_database_make_one_shared_key()
    {
        StoreDatabase operators = _storage.Open(StoreFile.Operators);

        long keys = await operators.ReadAsync(async (connection, ct) =>
        {
            await using System.Data.Common.DbCommand count = StoreDatabase.Command(connection, "SELECT COUNT(*) FROM data_protection_keys;");
            return await StoreDatabase.ScalarInt64Async(count, ct) ?? 0;
        }, CancellationToken.None);

        Assert.Equal(1, keys);
    }

    private static HttpClient Client(CloudBridgeHost host, CookieContainer cookies)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, UseCookies = true }) { BaseAddress = host.BaseAddress };
        client.DefaultRequestHeaders.Add(OperatorAuthentication.RequestHeader, "test");
        return client;
    }
}
