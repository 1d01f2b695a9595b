using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;

namespace Anshimi.CloudBridge.Tests.Operators;

public sealed class OperatorAccountStoreOnSqliteTests() : OperatorAccountStoreTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class OperatorAccountStoreOnPostgreSqlTests() : OperatorAccountStoreTests(StorageProvider.PostgreSql);

/// <summary>
/// Operator accounts and server-side sessions on each storage engine: a session ended or an account changed through one
/// bridge instance is seen by the other at once, and a sign-in racing an account change never keeps a session.
/// </summary>
public abstract class OperatorAccountStoreTests(StorageProvider provider) : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly OperatorAccount Kim = new("Kim", "김관제", false, ["11680"], "hash-1", false);

    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(provider);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task An_account_is_found_by_its_name_in_any_case_and_replaced_only_when_asked()
    {
        var store = new OperatorAccountStore(_storage.Open(StoreFile.Operators));

        Assert.True(await store.SaveAsync(Kim, replace: false, CancellationToken.None));
        Assert.False(await store.SaveAsync(Kim with { DisplayName = "다른 사람" }, replace: false, CancellationToken.None));

        OperatorAccount stored = (await store.FindAsync(" KIM ", CancellationToken.None))!;
        Assert.Equal(("kim", "김관제", false, "hash-1", false), (stored.UserName, stored.DisplayName, stored.Central, stored.PasswordHash, stored.Disabled));
        Assert.Equal(["11680"], stored.Districts);

        Assert.True(await store.SaveAsync(Kim with { Districts = ["11680", "11650"], Central = true }, replace: true, CancellationToken.None));
        OperatorAccount replaced = (await store.FindAsync("kim", CancellationToken.None))!;
        Assert.Equal((true, 2), (replaced.Central, replaced.Districts.Count));
        Assert.Null(await store.FindAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task A_session_signed_out_or_ended_by_an_account_change_on_one_instance_is_gone_on_the_other()
    {
        var first = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        var second = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        await first.SaveAsync(Kim, replace: false, CancellationToken.None);
        OperatorScope scope = new("kim", false, ["11680"]);

        Assert.True(await first.AddSessionAsync("s-1", scope, At, At.AddHours(1), CancellationToken.None));
        Assert.Equal("kim", (await second.FindSessionAsync("s-1", At.AddMinutes(1), CancellationToken.None))!.Account.UserName);
        await second.RenewSessionAsync("s-1", At.AddMinutes(30), At.AddMinutes(90), CancellationToken.None);
        Assert.NotNull(await first.FindSessionAsync("s-1", At.AddMinutes(80), CancellationToken.None));
        Assert.Null(await first.FindSessionAsync("s-1", At.AddMinutes(90), CancellationToken.None));

        // Sign-out through the second instance.
        Assert.True(await first.AddSessionAsync("s-2", scope, At, At.AddHours(1), CancellationToken.None));
        await second.RemoveSessionAsync("s-2", CancellationToken.None);
        Assert.Null(await first.FindSessionAsync("s-2", At.AddMinutes(1), CancellationToken.None));

        // Disabling through the second instance ends every session; enabling does not bring one back.
        Assert.True(await first.AddSessionAsync("s-3", scope, At, At.AddHours(1), CancellationToken.None));
        Assert.True(await second.SetDisabledAsync("KIM", disabled: true, CancellationToken.None));
        Assert.Null(await first.FindSessionAsync("s-3", At.AddMinutes(1), CancellationToken.None));
        Assert.False(await first.AddSessionAsync("s-4", scope, At, At.AddHours(1), CancellationToken.None));
        Assert.True(await second.SetDisabledAsync("kim", disabled: false, CancellationToken.None));
        Assert.Equal(0, await first.CountSessionsAsync("kim", CancellationToken.None));

        // A changed account ends its sessions; one of another account stays.
        await first.SaveAsync(Kim with { UserName = "lee" }, replace: false, CancellationToken.None);
        Assert.True(await first.AddSessionAsync("s-5", scope, At, At.AddHours(1), CancellationToken.None));
        Assert.True(await first.AddSessionAsync("s-6", new OperatorScope("lee", false, ["11680"]), At, At.AddHours(1), CancellationToken.None));
        Assert.True(await second.SaveAsync(Kim with { PasswordHash = "hash-2" }, replace: true, CancellationToken.None));
        Assert.Null(await first.FindSessionAsync("s-5", At.AddMinutes(1), CancellationToken.None));
        Assert.NotNull(await first.FindSessionAsync("s-6", At.AddMinutes(1), CancellationToken.None));
        await second.EndSessionsAsync("LEE", CancellationToken.None);
        Assert.Null(await first.FindSessionAsync("s-6", At.AddMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_sign_in_for_rights_the_account_no_longer_has_gets_no_session()
    {
        var store = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        await store.SaveAsync(Kim, replace: false, CancellationToken.None);

        Assert.False(await store.AddSessionAsync("s-1", new OperatorScope("kim", false, ["11650"]), At, At.AddHours(1), CancellationToken.None));
        Assert.False(await store.AddSessionAsync("s-2", new OperatorScope("kim", true, ["11680"]), At, At.AddHours(1), CancellationToken.None));
        Assert.False(await store.AddSessionAsync("s-3", new OperatorScope("nobody", false, ["11680"]), At, At.AddHours(1), CancellationToken.None));
        Assert.Equal(0, await store.CountSessionsAsync("kim", CancellationToken.None));
    }

    [Fact]
    public async Task A_sign_in_on_one_instance_racing_a_district_change_on_the_other_never_keeps_a_session()
    {
        var signIns = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        var changes = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        for (int round = 0; round < 25; round++)
        {
            // Each round: the account has the old rights, a sign-in checked against them races the change to new ones.
            await changes.SaveAsync(Kim, replace: true, CancellationToken.None);
            string id = "s-" + round.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Task<bool> signIn = Task.Run(() => signIns.AddSessionAsync(id, new OperatorScope("kim", false, ["11680"]), At, At.AddHours(1), CancellationToken.None));
            Task<bool> change = Task.Run(() => changes.SaveAsync(Kim with { Districts = ["11650"] }, replace: true, CancellationToken.None));
            await Task.WhenAll(signIn, change);

            Assert.Null(await changes.FindSessionAsync(id, At.AddMinutes(1), CancellationToken.None));
        }
    }
}
