using Microsoft.AspNetCore.Http;

namespace Anshimi.CloudBridge.Operators;

/// <summary>Operator sign-in settings; bound from configuration section "Operators".</summary>
public sealed class OperatorOptions
{
    public const string SectionName = "Operators";

    /// <summary>Idle time after which a console session ends (sliding).</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Consecutive wrong passwords before the account is locked.</summary>
    public int MaxFailedSignIns { get; set; } = 5;

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

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
