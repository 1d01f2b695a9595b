using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

public enum SignInOutcome
{
    SignedIn,
    Invalid,
    LockedOut,
}

public sealed record SignInResult(SignInOutcome Outcome, OperatorAccount? Account);

/// <summary>
/// Checks passwords (ASP.NET Core Identity's PBKDF2 hasher), counts failures, locks accounts, and writes every
/// attempt to the audit log. Also creates accounts for the seed and the command line.
/// </summary>
public sealed class OperatorSignIn
{
    public const int MaxUserNameLength = 64;
    public const int MinPasswordLength = 10;

    // Hashed once so an unknown user name costs the same as a wrong password.
    private static readonly string UnknownUserHash = new PasswordHasher<OperatorAccount>().HashPassword(null!, "unknown-user-placeholder");

    private readonly OperatorAccountStore _store;
    private readonly AuditLog _audit;
    private readonly DistrictDirectory _districts;
    private readonly OperatorOptions _options;
    private readonly TimeProvider _time;
    private readonly PasswordHasher<OperatorAccount> _hasher = new();

    public OperatorSignIn(OperatorAccountStore store, AuditLog audit, DistrictDirectory districts, IOptions<OperatorOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _audit = audit;
        _districts = districts;
        _options = options.Value;
        _time = time;
    }

    public async Task<SignInResult> SignInAsync(string userName, string password, CancellationToken cancellationToken)
    {
        string name = OperatorAccountStore.Normalize(userName);
        string actor = name.Length > MaxUserNameLength ? name[..MaxUserNameLength] : name;
        OperatorAccount? account = await _store.FindAsync(name, cancellationToken);
        DateTimeOffset now = _time.GetUtcNow();
        if (account?.LockedUntil is { } until && until > now)
        {
            await _audit.AppendAsync(new AuditEntry(actor, AuditAction.SignInLocked, actor, "", AuditOutcome.Refused, "locked until " + until.ToString("O")), cancellationToken);
            return new SignInResult(SignInOutcome.LockedOut, null);
        }

        PasswordVerificationResult verified = _hasher.VerifyHashedPassword(account!, account?.PasswordHash ?? UnknownUserHash, password);
        if (account is null || verified == PasswordVerificationResult.Failed)
        {
            bool locked = account is not null &&
                await _store.RecordFailureAsync(name, _options.MaxFailedSignIns, now, now + _options.LockoutDuration, cancellationToken);
            await _audit.AppendAsync(new AuditEntry(actor, AuditAction.SignInFailed, actor, "", AuditOutcome.Refused,
                account is null ? "unknown user" : locked ? "wrong password; account locked" : "wrong password"), cancellationToken);
            return new SignInResult(locked ? SignInOutcome.LockedOut : SignInOutcome.Invalid, null);
        }

        await _store.ClearFailuresAsync(name, cancellationToken);
        await _audit.AppendAsync(new AuditEntry(name, AuditAction.SignIn, name, string.Join(' ', account.Districts), AuditOutcome.Done,
            account.Central ? "central" : "district"), cancellationToken);
        return new SignInResult(SignInOutcome.SignedIn, account);
    }

    public Task SignedOutAsync(OperatorScope scope, CancellationToken cancellationToken) =>
        _audit.AppendAsync(new AuditEntry(scope.UserName, AuditAction.SignOut, scope.UserName, string.Join(' ', scope.Districts), AuditOutcome.Done, ""), cancellationToken);

    /// <summary>Creates (or with <paramref name="replace"/> replaces) an account; throws <see cref="ArgumentException"/> for bad input.</summary>
    public async Task<bool> SaveAsync(OperatorSeed seed, bool replace, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(seed);
        string name = OperatorAccountStore.Normalize(seed.UserName);
        if (name.Length is 0 or > MaxUserNameLength || name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException($"User name must be 1 to {MaxUserNameLength} characters without spaces.", nameof(seed));
        }

        if (seed.Password.Length < MinPasswordLength)
        {
            throw new ArgumentException($"Password of {name} must be at least {MinPasswordLength} characters.", nameof(seed));
        }

        string[] districts = seed.Districts.Select(d => d.Trim()).Where(d => d.Length > 0).Distinct().ToArray();
        string? unknown = districts.FirstOrDefault(d => _districts.NameOf(d).Code == DistrictDirectory.UnknownCode);
        if (unknown is not null)
        {
            throw new ArgumentException($"{unknown} is not a Seoul district code (SIG_CD such as 11680 for 강남구).", nameof(seed));
        }

        if (!seed.Central && districts.Length == 0)
        {
            throw new ArgumentException($"{name} needs at least one district, or must be central staff.", nameof(seed));
        }

        var account = new OperatorAccount(name, string.IsNullOrWhiteSpace(seed.DisplayName) ? name : seed.DisplayName.Trim(),
            seed.Central, districts, "", 0, null);
        account = account with { PasswordHash = _hasher.HashPassword(account, seed.Password) };
        bool saved = await _store.SaveAsync(account, replace, cancellationToken);
        if (saved)
        {
            await _audit.AppendAsync(new AuditEntry(actor, AuditAction.OperatorSaved, name, string.Join(' ', districts), AuditOutcome.Done,
                seed.Central ? "central" : "district"), cancellationToken);
        }

        return saved;
    }
}
