using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Operators;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Microsoft.AspNetCore.Identity;
using SignInResult = Anshimi.CloudBridge.Operators.SignInResult;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Operators;

public sealed class OperatorSignInOnSqliteTests() : OperatorSignInTests(StorageProvider.Sqlite);

[Trait("Category", "HighAvailability")]
public sealed class OperatorSignInOnPostgreSqlTests() : OperatorSignInTests(StorageProvider.PostgreSql);

/// <summary>
/// Password checks, the growing delays and their expiry on a virtual clock, batched failure audit; account validation; on
/// each storage engine of the account store.
/// </summary>
public abstract class OperatorSignInTests(StorageProvider provider) : IAsyncLifetime
{
    private const string Attacker = "203.0.113.7";
    private const string Console = "10.20.0.15";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero));
    private readonly OperatorOptions _options = new()
    {
        FreeFailedSignIns = 3,
        SignInDelay = TimeSpan.FromSeconds(1),
        MaxUserNameDelay = TimeSpan.FromSeconds(4),
        MaxSourceDelay = TimeSpan.FromMinutes(10),
        FailureMemory = TimeSpan.FromMinutes(15),
    };

    private TestStorage _storage = null!;
    private OperatorSignIn _signIn = null!;
    private OperatorAccountStore _store = null!;
    private AuditLog _audit = null!;
    private SignInFailureAudit _failures = null!;
    private SignInThrottle _throttle = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(provider);
        _store = new OperatorAccountStore(_storage.Open(StoreFile.Operators));
        _audit = new AuditLog(_storage.Open(StoreFile.Alarms), _clock);
        _throttle = new SignInThrottle(Options.Create(_options), _clock);
        _failures = new SignInFailureAudit(_audit, Options.Create(_options), _clock, NullLogger<SignInFailureAudit>.Instance);
        _signIn = new OperatorSignIn(_store, _audit, _throttle, _failures, DistrictDirectory.Load(CloudBridgeHost.DistrictsFile),
            new PasswordHasher<OperatorAccount>(), _clock);
    }

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task A_source_that_keeps_failing_waits_longer_each_time_and_is_forgotten_after_a_quiet_spell()
    {
        await SaveKimAsync();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(SignInOutcome.Invalid, (await AttemptAsync("kim", "wrong-" + i, Attacker)).Outcome);
        }

        // Refused before any password check: 1 s, then 2 s after the next failure.
        SignInResult refused = await AttemptAsync("kim", "kim-password-1", Attacker);
        Assert.Equal(SignInOutcome.Throttled, refused.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(SignInOutcome.Invalid, (await AttemptAsync("kim", "wrong-3", Attacker)).Outcome);
        Assert.Equal(TimeSpan.FromSeconds(2), (await AttemptAsync("kim", "wrong-4", Attacker)).RetryAfter);

        _clock.Advance(TimeSpan.FromMinutes(16));
        Assert.Equal(SignInOutcome.SignedIn, (await AttemptAsync("kim", "kim-password-1", Attacker)).Outcome);
    }

    [Fact]
    public async Task A_name_others_fail_on_is_held_for_at_most_the_cap_then_checked_never_refused()
    {
        await SaveKimAsync();
        for (int i = 0; i < 10; i++)
        {
            // Each from its own address, so only the name's count grows.
            _clock.Advance(TimeSpan.FromSeconds(5));
            Assert.Equal(SignInOutcome.Invalid, (await AttemptAsync("kim", "wrong-" + i, "198.51.100." + i)).Outcome);
        }

        Assert.Equal(new SignInAdmission(TimeSpan.Zero, TimeSpan.FromSeconds(4)), _throttle.Admit("kim", Console));
        Task<SignInResult> held = AttemptAsync("kim", "kim-password-1", Console);
        Assert.False(held.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal(SignInOutcome.SignedIn, (await held).Outcome);
        Assert.Equal(new SignInAdmission(TimeSpan.Zero, TimeSpan.Zero), _throttle.Admit("kim", Console));
    }

    [Fact]
    public async Task Failures_reach_the_audit_log_in_one_counted_row_per_name_source_and_reason()
    {
        await SaveKimAsync();
        for (int i = 0; i < 3; i++)
        {
            await AttemptAsync("kim", "wrong-password-" + i, Attacker);
            await AttemptAsync("nobody", "wrong-password-" + i, Console);
        }

        await AttemptAsync("kim", "wrong-password-9", Attacker);
        Assert.DoesNotContain(await _audit.ListAsync(50, null, CancellationToken.None), e => e.Entry.Action != AuditAction.OperatorSaved);

        await _failures.FlushAsync(CancellationToken.None);

        IReadOnlyList<AuditRecord> rows = await _audit.ListAsync(50, null, CancellationToken.None);
        AuditRecord wrong = Assert.Single(rows, e => e.Entry.Action == AuditAction.SignInFailed && e.Entry.Target == "kim");
        Assert.StartsWith("3 × wrong password from " + Attacker, wrong.Entry.Detail, StringComparison.Ordinal);
        Assert.StartsWith("3 × unknown user from " + Console, Assert.Single(rows, e => e.Entry.Target == "nobody").Entry.Detail, StringComparison.Ordinal);
        Assert.StartsWith("1 × refused", Assert.Single(rows, e => e.Entry.Action == AuditAction.SignInThrottled).Entry.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(rows, e => e.Entry.Detail.Contains("wrong-password", StringComparison.Ordinal));
        Assert.True((await _audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task An_unknown_user_and_a_disabled_account_are_invalid_like_a_wrong_password()
    {
        await SaveKimAsync();
        Assert.True(await _signIn.SetDisabledAsync("kim", disabled: true, "test", CancellationToken.None));

        Assert.Equal(SignInOutcome.Invalid, (await AttemptAsync("nobody", "whatever-password", Console)).Outcome);
        Assert.Equal(SignInOutcome.Invalid, (await AttemptAsync("kim", "kim-password-1", Console)).Outcome);
        Assert.False(await _signIn.SetDisabledAsync("nobody", disabled: true, "test", CancellationToken.None));
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

    private async Task SaveKimAsync()
    {
        await _signIn.SaveAsync(new OperatorSeed { UserName = "Kim", Password = "kim-password-1", Districts = ["11680"] }, false, "test", CancellationToken.None);
        Assert.DoesNotContain("kim-password-1", (await _store.FindAsync("kim", CancellationToken.None))!.PasswordHash, StringComparison.Ordinal);
    }

    private Task<SignInResult> AttemptAsync(string user, string password, string source) =>
        _signIn.SignInAsync(user, password, source, CancellationToken.None);
}
