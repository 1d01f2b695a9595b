namespace Anshimi.CloudBridge.Audit;

/// <summary>
/// What happened: <paramref name="Actor"/> (operator user name, or "system") did <paramref name="Action"/> to
/// <paramref name="Target"/> (an alarm key, a user name, a table) in <paramref name="District"/> ("" when none).
/// </summary>
public sealed record AuditEntry(string Actor, string Action, string Target, string District, string Outcome, string Detail);

public sealed record AuditRecord(long Id, DateTimeOffset At, AuditEntry Entry, string PreviousHash, string Hash);

/// <summary>Result of re-computing the chain; <paramref name="FirstBrokenId"/> is the first row that does not match.</summary>
public sealed record AuditVerification(bool Intact, long RowsVerified, long? FirstBrokenId, string? Problem);

/// <summary>Audit action names (stable: they are part of the hashed content).</summary>
public static class AuditAction
{
    public const string SignIn = "sign-in";
    public const string SignInFailed = "sign-in-failed";
    public const string SignInLocked = "sign-in-locked";
    public const string SignOut = "sign-out";
    public const string Acknowledge = "acknowledge";
    public const string Dispatch = "dispatch";
    public const string Resolve = "resolve";
    public const string SnapshotView = "snapshot-view";
    public const string AlarmView = "alarm-view";
    public const string CaseOpen = "case-open";
    public const string DeviceSiteView = "device-site-view";
    public const string EscortView = "escort-view";
    public const string Export = "export";
    public const string RetentionPurge = "retention-purge";
    public const string OperatorSaved = "operator-saved";
}

public static class AuditOutcome
{
    public const string Done = "done";
    public const string Granted = "granted";
    public const string Refused = "refused";
}
