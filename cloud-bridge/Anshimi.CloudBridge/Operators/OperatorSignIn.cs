using System.Security.Cryptography;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Operators;

public enum SignInOutcome
{
    SignedIn,
    Invalid,
    Throttled,
}

public sealed record SignInResult(SignInOutcome Outcome, OperatorAccount? Account, TimeSpan RetryAfter = default);

/// <summary>
/// Checks passwords (ASP.NET Core Identity's PBKDF2 hasher) behind the <see cref="SignInThrottle"/>, audits every
/// attempt, and changes accounts for the seed and the command line. An unknown user name, a disabled account and a
/// wrong password take the same steps — one account read, one PBKDF2 verification — and get the same answer.
/// </summary>
public sealed class OperatorSignIn
{
    public const int MaxUserNameLength = 64;
    public const int MinPasswordLength = 10;

    private readonly OperatorAccountStore _store;
    private readonly AuditLog _audit;
    private readonly SignInThrottle _throttle;
    private readonly SignInFailureAudit _failures;
    private readonly DistrictDirectory _districts;
    private readonly TimeProvider _time;
    private readonly IPasswordHasher<OperatorAccount> _hasher;

    // Made by the same hasher as real accounts, so verifying it costs the same iterations.
    private readonly string _unknownUserHash;

    public OperatorSignIn(
        OperatorAccountStore store,
        AuditLog audit,
        SignInThrottle throttle,
        SignInFailureAudit failures,
        DistrictDirectory districts,
        IPasswordHasher<OperatorAccount> hasher,
        TimeProvider time)
    {
        _store = store;
        _audit = audit;
        _throttle = throttle;
        _failures = failures;
        _districts = districts;
        _hasher = hasher;
        _time = time;
        _unknownUserHash = hasher.HashPassword(new OperatorAccount("", "", false, [], "", false), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
    }

    public async Task<SignInResult> SignInAsync(string userName, string password, string source, CancellationToken cancellationToken)
    {
        string name = OperatorAccountStore.Normalize(userName);
        if (name.Length > MaxUserNameLength)
        {
            name = name[..MaxUserNameLength];
        }

        SignInAdmission admission = _throttle.Admit(name, source);
        if (admission.Refused)
        {
            _failures.Record(name, source, "refused: too many wrong passwords from this source", refused: true);
            return new SignInResult(SignInOutcome.Throttled, null, admission.RetryAfter);
        }

        if (admission.Hold > TimeSpan.Zero)
        {
            await Task.Delay(admission.Hold, _time, cancellationToken);
        }

        OperatorAccount? account = await _store.FindAsync(name, cancellationToken);
        PasswordVerificationResult verified = _hasher.VerifyHashedPassword(account!, account?.PasswordHash ?? _unknownUserHash, password);
        if (account is null || account.Disabled || verified == PasswordVerificationResult.Failed)
        {
            _throttle.Failed(name, source);
            _failures.Record(name, source, account is null ? "unknown user" : account.Disabled ? "account disabled" : "wrong password", refused: false);
            return new SignInResult(SignInOutcome.Invalid, null);
        }

        _throttle.Succeeded(name, source);
        await _audit.AppendAsync(new AuditEntry(name, AuditAction.SignIn, name, string.Join(' ', account.Districts), AuditOutcome.Done,
            (account.Central ? "central" : "district") + " from " + source), cancellationToken);
        return new SignInResult(SignInOutcome.SignedIn, account);
    }

    /// <summary>Signing out ends every session of the account, on every console.</summary>
    public async Task SignedOutAsync(OperatorScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        await _store.EndSessionsAsync(scope.UserName, cancellationToken);
        await _audit.AppendAsync(new AuditEntry(scope.UserName, AuditAction.SignOut, scope.UserName, string.Join(' ', scope.Districts), AuditOutcome.Done, ""), cancellationToken);
    }

    /// <summary>
    /// Creates (or with <paramref name="replace"/> replaces, ending its sessions) an account; throws
    /// <see cref="ArgumentException"/> for bad input.
    /// </summary>
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
            seed.Central, districts, "", false);
        account = account with { PasswordHash = _hasher.HashPassword(account, seed.Password) };
        bool saved = await _store.SaveAsync(account, replace, cancellationToken);
        if (saved)
        {
            await _audit.AppendAsync(new AuditEntry(actor, AuditAction.OperatorSaved, name, string.Join(' ', districts), AuditOutcome.Done,
                (seed.Central ? "central" : "district") + (replace ? "; sessions ended" : "")), cancellationToken);
        }

        return saved;
    }

    /// <summary>Disables an account (ending its sessions at once) or enables it again; false when there is no such account.</summary>
    public async Task<bool> SetDisabledAsync(string userName, bool disabled, string actor, CancellationToken cancellationToken)
    {
        string name = OperatorAccountStore.Normalize(userName);
        bool found = await _store.SetDisabledAsync(name, disabled, cancellationToken);
        if (found)
        {
            await _audit.AppendAsync(new AuditEntry(actor, AuditAction.OperatorSaved, name, "", AuditOutcome.Done,
                disabled ? "disabled; sessions ended" : "enabled"), cancellationToken);
        }

        return found;
    }
}
