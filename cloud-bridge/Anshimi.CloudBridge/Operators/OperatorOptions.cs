using Microsoft.AspNetCore.Http;

namespace Anshimi.CloudBridge.Operators;

/// <summary>Operator sign-in settings; bound from configuration section "Operators".</summary>
public sealed class OperatorOptions
{
    public const string SectionName = "Operators";

    /// <summary>Idle time after which a console session ends (sliding).</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often an open live stream re-reads its session and account; it also re-checks before every event.</summary>
    public TimeSpan StreamSessionCheck { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Wrong passwords from one source, or for one user name, before sign-ins start to be delayed.</summary>
    public int FreeFailedSignIns { get; set; } = 5;

    /// <summary>The first delay after <see cref="FreeFailedSignIns"/>; each further failure doubles it.</summary>
    public TimeSpan SignInDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Cap of the delay a user name's failures put on its next sign-ins. Such a sign-in is held, not refused, so
    /// nobody — central staff included — can be kept out for longer by wrong passwords sent from elsewhere.
    /// </summary>
    public TimeSpan MaxUserNameDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Cap of the delay a source address's failures put on its own sign-ins, which are refused (429) meanwhile.</summary>
    public TimeSpan MaxSourceDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures are forgotten after this long without a new one.</summary>
    public TimeSpan FailureMemory { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failed sign-ins are written to the audit log in batches this often, one row per user name and source.</summary>
    public TimeSpan FailureAuditInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>Always</c> (default): the session cookie is sent over HTTPS only. <c>SameAsRequest</c> only for a console
    /// served over plain HTTP on the loopback interface (the demo and tests).
    /// </summary>
    public CookieSecurePolicy CookieSecurePolicy { get; set; } = CookieSecurePolicy.Always;

    /// <summary>Accounts created at start-up when missing (existing accounts are left as they are).</summary>
    public List<OperatorSeed> Seed { get; set; } = [];
}

/// <summary>
/// One seeded account. Give the password through the environment (<c>Operators__Seed__0__Password</c>), never in
/// appsettings. <see cref="Districts"/> are 자치구 codes (SIG_CD, e.g. 11680 강남구); <see cref="Central"/> is
/// 총괄관제센터 staff, who see every district.
/// </summary>
public sealed class OperatorSeed
{
    public string UserName { get; set; } = "";

    public string? DisplayName { get; set; }

    public string Password { get; set; } = "";

    public List<string> Districts { get; set; } = [];

    public bool Central { get; set; }
}
