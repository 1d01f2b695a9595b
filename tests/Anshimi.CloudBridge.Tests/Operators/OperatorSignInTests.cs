using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Operators;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Operators;

/// <summary>Password checks, lockout and its expiry on a virtual clock; account validation.</summary>
public sealed class OperatorSignInTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("operators-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero));
    private readonly OperatorSignIn _signIn;
    private readonly OperatorAccountStore _store;

    public OperatorSignInTests()
    {
        _store = new OperatorAccountStore(_directory);
        var options = new OperatorOptions { MaxFailedSignIns = 3, LockoutDuration = TimeSpan.FromMinutes(10) };
        _signIn = new OperatorSignIn(_store, new AuditLog(_directory, _clock), DistrictDirectory.Load(CloudBridgeHost.DistrictsFile), Options.Create(options), _clock);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_lock_expires_and_then_counting_starts_again()
    {
        await _signIn.SaveAsync(new OperatorSeed { UserName = "Kim", Password = "kim-password-1", Districts = ["11680"] }, false, "test", CancellationToken.None);
        OperatorAccount stored = (await _store.FindAsync("kim", CancellationToken.None))!;
        Assert.DoesNotContain("kim-password-1", stored.PasswordHash, StringComparison.Ordinal);

        Assert.Equal(SignInOutcome.Invalid, await OutcomeAsync("kim", "wrong-1"));
        Assert.Equal(SignInOutcome.Invalid, await OutcomeAsync("KIM", "wrong-2"));
        Assert.Equal(SignInOutcome.LockedOut, await OutcomeAsync("kim", "wrong-3"));
        Assert.Equal(SignInOutcome.LockedOut, await OutcomeAsync("kim", "kim-password-1"));

        _clock.Advance(TimeSpan.FromMinutes(11));

        Assert.Equal(SignInOutcome.Invalid, await OutcomeAsync("kim", "wrong-4"));
        Assert.Equal(SignInOutcome.SignedIn, await OutcomeAsync("kim", "kim-password-1"));
        Assert.Equal(0, (await _store.FindAsync("kim", CancellationToken.None))!.FailedSignIns);
    }

    [Fact]
    public async Task An_unknown_user_is_invalid_not_an_error()
    {
        Assert.Equal(SignInOutcome.Invalid, await OutcomeAsync("nobody", "whatever-password"));
    }

    [Theory]
    [InlineData("", "long-enough-pw", "11680", false)]
    [InlineData("with space", "long-enough-pw", "11680", false)]
    [InlineData("kim", "short", "11680", false)]
    [InlineData("kim", "long-enough-pw", "99999", false)]
    [InlineData("kim", "long-enough-pw", "", false)]
    public async Task Bad_accounts_are_refused_with_a_reason(string user, string password, string district, bool central)
    {
        var seed = new OperatorSeed { UserName = user, Password = password, Districts = district.Length == 0 ? [] : [district], Central = central };

        await Assert.ThrowsAsync<ArgumentException>(() => _signIn.SaveAsync(seed, false, "test", CancellationToken.None));
    }

    private async Task<SignInOutcome> OutcomeAsync(string user, string password) =>
        (await _signIn.SignInAsync(user, password, CancellationToken.None)).Outcome;
}
