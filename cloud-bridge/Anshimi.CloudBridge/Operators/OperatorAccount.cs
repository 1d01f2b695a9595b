namespace Anshimi.CloudBridge.Operators;

/// <summary>A control-center operator (관제요원) or central staff member as stored; a disabled account cannot sign in.</summary>
public sealed record OperatorAccount(
    string UserName,
    string DisplayName,
    bool Central,
    IReadOnlyList<string> Districts,
    string PasswordHash,
    bool Disabled);

/// <summary>A console session as stored on the server; the cookie carries only its (encrypted) id.</summary>
public sealed record OperatorSession(string Id, OperatorAccount Account, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);
