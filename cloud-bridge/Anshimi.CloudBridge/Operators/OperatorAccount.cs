namespace Anshimi.CloudBridge.Operators;

/// <summary>A control-center operator (관제요원) or central staff member as stored.</summary>
public sealed record OperatorAccount(
    string UserName,
    string DisplayName,
    bool Central,
    IReadOnlyList<string> Districts,
    string PasswordHash,
    int FailedSignIns,
    DateTimeOffset? LockedUntil);
