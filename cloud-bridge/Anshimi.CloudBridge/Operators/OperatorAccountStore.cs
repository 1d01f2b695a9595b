using System.Data.Common;
using Anshimi.CloudBridge.Storage;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// Operator accounts and their console sessions (store file <see cref="StoreFile.Operators"/>). A session is a row here,
/// so ending it is a DELETE: every change to an account (password, districts, role, disabling) deletes the account's
/// sessions in the same transaction, and every bridge instance on the database sees the session gone at once.
/// </summary>
public sealed class OperatorAccountStore(StoreDatabase database)
{
    private const string Columns = "user_name, display_name, central, districts, password_hash, disabled";

    /// <summary>User names are compared in lower case: "Kim" and "kim" are one account.</summary>
    public static string Normalize(string userName) => userName.Trim().ToLowerInvariant();

    public Task<OperatorAccount?> FindAsync(string userName, CancellationToken cancellationToken) =>
        database.ReadAsync((connection, ct) => FindAsync(connection, userName, "", ct), cancellationToken);

    /// <summary>
    /// Creates the account, or with <paramref name="replace"/> overwrites it (enabling it again) and ends its
    /// sessions, so new districts, role or password apply from the next request on.
    /// </summary>
    public Task<bool> SaveAsync(OperatorAccount account, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        return database.WriteAsync(async (connection, ct) =>
        {
            bool saved = await ExecuteAsync(connection, $"""
                INSERT INTO operators ({Columns}) VALUES (@name, @display, @central, @districts, @hash, 0)
                ON CONFLICT (user_name) DO {(replace ? """
                    UPDATE SET display_name = excluded.display_name, central = excluded.central, districts = excluded.districts,
                    password_hash = excluded.password_hash, disabled = 0
                    """ : "NOTHING")};
                """, ct,
                ("name", Normalize(account.UserName)),
                ("display", account.DisplayName),
                ("central", account.Central ? 1 : 0),
                ("districts", string.Join(' ', account.Districts)),
                ("hash", account.PasswordHash)) == 1;
            if (saved)
            {
                await EndSessionsAsync(connection, account.UserName, ct);
            }

            return saved;
        }, cancellationToken);
    }

    /// <summary>Disables (ending every session) or enables an account; false when there is no such account.</summary>
    public Task<bool> SetDisabledAsync(string userName, bool disabled, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            bool found = await ExecuteAsync(connection, "UPDATE operators SET disabled = @disabled WHERE user_name = @name;", ct,
                ("name", Normalize(userName)), ("disabled", disabled ? 1 : 0)) == 1;
            await EndSessionsAsync(connection, userName, ct);
            return found;
        }, cancellationToken);

    /// <summary>Ends every session of the account (sign-out ends them on all consoles at once).</summary>
    public Task EndSessionsAsync(string userName, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, ct) => EndSessionsAsync(connection, userName, ct), cancellationToken);

    /// <summary>
    /// Stores a new session for the rights it was signed in with; expired sessions are swept out at the same time.
    /// False, and nothing stored, when the account was changed or disabled since (a sign-in that raced an account
    /// change must not outlive it with the new rights, whichever instance made the change).
    /// </summary>
    public Task<bool> AddSessionAsync(string id, OperatorScope scope, DateTimeOffset issuedAt, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return database.WriteAsync(async (connection, ct) =>
        {
            // Locked until commit, so an account change either waits for this session (and then ends it) or comes first (and is seen).
            OperatorAccount? account = await FindAsync(connection, scope.UserName, database.Dialect.ForUpdate, ct);
            if (account is null || account.Disabled || account.Central != scope.Central || !scope.Districts.ToHashSet(StringComparer.Ordinal).SetEquals(account.Districts))
            {
                return false;
            }

            await ExecuteAsync(connection, "DELETE FROM operator_sessions WHERE expires_at_ms <= @issued;", ct, ("issued", issuedAt.ToUnixTimeMilliseconds()));
            await ExecuteAsync(connection, """
                INSERT INTO operator_sessions (id, user_name, created_at_ms, issued_at_ms, expires_at_ms) VALUES (@id, @name, @issued, @issued, @expires);
                """, ct,
                ("id", id), ("name", account.UserName), ("issued", issuedAt.ToUnixTimeMilliseconds()), ("expires", expiresAt.ToUnixTimeMilliseconds()));
            return true;
        }, cancellationToken);
    }

    /// <summary>Slides an existing session; a session already ended stays ended.</summary>
    public Task RenewSessionAsync(string id, DateTimeOffset issuedAt, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        database.WriteAsync(
            (connection, ct) => ExecuteAsync(connection, "UPDATE operator_sessions SET issued_at_ms = @issued, expires_at_ms = @expires WHERE id = @id;", ct,
                ("id", id), ("issued", issuedAt.ToUnixTimeMilliseconds()), ("expires", expiresAt.ToUnixTimeMilliseconds())),
            cancellationToken);

    /// <summary>
    /// A live session with its account as stored now; null when the session has ended or expired or the account
    /// is disabled.
    /// </summary>
    public Task<OperatorSession?> FindSessionAsync(string id, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"""
                SELECT {string.Join(", ", Columns.Split(", ").Select(c => "o." + c))}, s.issued_at_ms, s.expires_at_ms
                FROM operator_sessions s JOIN operators o ON o.user_name = s.user_name
                WHERE s.id = @id AND s.expires_at_ms > @now AND o.disabled = 0;
                """, ("id", id), ("now", now.ToUnixTimeMilliseconds()));
            return await ReadFirstAsync(query, r => new OperatorSession(id, Read(r),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7))), ct);
        }, cancellationToken);

    public Task RemoveSessionAsync(string id, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, ct) => ExecuteAsync(connection, "DELETE FROM operator_sessions WHERE id = @id;", ct, ("id", id)), cancellationToken);

    public async Task<long> CountSessionsAsync(string userName, CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand count = Command(connection, "SELECT COUNT(*) FROM operator_sessions WHERE user_name = @name;", ("name", Normalize(userName)));
            return await ScalarInt64Async(count, ct) ?? 0;
        }, cancellationToken);

    private static async Task<OperatorAccount?> FindAsync(DbConnection connection, string userName, string lockClause, CancellationToken cancellationToken)
    {
        await using DbCommand query = Command(connection, $"SELECT {Columns} FROM operators WHERE user_name = @name{lockClause};", ("name", Normalize(userName)));
        return await ReadFirstAsync(query, Read, cancellationToken);
    }

    private static Task<int> EndSessionsAsync(DbConnection connection, string userName, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, "DELETE FROM operator_sessions WHERE user_name = @name;", cancellationToken, ("name", Normalize(userName)));

    private static OperatorAccount Read(DbDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetInt32(2) != 0,
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        r.GetString(4),
        r.GetInt32(5) != 0);
}
