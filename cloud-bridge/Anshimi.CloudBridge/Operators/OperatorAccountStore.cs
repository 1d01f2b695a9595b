using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Operators;

/// <summary>
/// Operator accounts and their console sessions (operators.db). A session is a row here, so ending it is a DELETE:
/// every change to an account (password, districts, role, disabling) deletes the account's sessions in the same
/// transaction.
/// </summary>
public sealed class OperatorAccountStore
{
    public const string FileName = "operators.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS operators (
            user_name TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            central INTEGER NOT NULL,
            districts TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS operator_sessions (
            id TEXT PRIMARY KEY,
            user_name TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            issued_at_ms INTEGER NOT NULL,
            expires_at_ms INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS operator_sessions_user ON operator_sessions (user_name);
        """;

    private const string Columns = "user_name, display_name, central, districts, password_hash, disabled";

    private readonly SqliteFile _database;

    public OperatorAccountStore(string dataDirectory)
    {
        _database = new SqliteFile(dataDirectory, FileName, SqliteSynchronous.Full, foreignKeys: false, Schema);

        // Files from before accounts could be disabled.
        using SqliteConnection connection = _database.Open();
        using SqliteCommand hasDisabled = Command(connection, "SELECT COUNT(*) FROM pragma_table_info('operators') WHERE name = 'disabled';");
        if ((long)hasDisabled.ExecuteScalar()! == 0)
        {
            Execute(connection, "ALTER TABLE operators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;");
        }
    }

    public string DatabasePath => _database.DatabasePath;

    /// <summary>User names are compared in lower case: "Kim" and "kim" are one account.</summary>
    public static string Normalize(string userName) => userName.Trim().ToLowerInvariant();

    public async Task<OperatorAccount?> FindAsync(string userName, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {Columns} FROM operators WHERE user_name = $name;");
        query.Parameters.AddWithValue("$name", Normalize(userName));
        return await ReadFirstAsync(query, Read, cancellationToken);
    }

    /// <summary>
    /// Creates the account, or with <paramref name="replace"/> overwrites it (enabling it again) and ends its
    /// sessions, so new districts, role or password apply from the next request on.
    /// </summary>
    public async Task<bool> SaveAsync(OperatorAccount account, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand insert = Command(connection, $"""
            INSERT INTO operators ({Columns}) VALUES ($name, $display, $central, $districts, $hash, 0)
            ON CONFLICT (user_name) DO {(replace ? """
                UPDATE SET display_name = excluded.display_name, central = excluded.central, districts = excluded.districts,
                password_hash = excluded.password_hash, disabled = 0
                """ : "NOTHING")};
            """);
        insert.Parameters.AddWithValue("$name", Normalize(account.UserName));
        insert.Parameters.AddWithValue("$display", account.DisplayName);
        insert.Parameters.AddWithValue("$central", account.Central ? 1 : 0);
        insert.Parameters.AddWithValue("$districts", string.Join(' ', account.Districts));
        insert.Parameters.AddWithValue("$hash", account.PasswordHash);
        bool saved = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (saved)
        {
            await EndSessionsAsync(connection, account.UserName, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return saved;
    }

    /// <summary>Disables (ending every session) or enables an account; false when there is no such account.</summary>
    public async Task<bool> SetDisabledAsync(string userName, bool disabled, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand update = Command(connection, "UPDATE operators SET disabled = $disabled WHERE user_name = $name;");
        update.Parameters.AddWithValue("$name", Normalize(userName));
        update.Parameters.AddWithValue("$disabled", disabled ? 1 : 0);
        bool found = await update.ExecuteNonQueryAsync(cancellationToken) == 1;
        await EndSessionsAsync(connection, userName, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return found;
    }

    /// <summary>Ends every session of the account (sign-out ends them on all consoles at once).</summary>
    public async Task EndSessionsAsync(string userName, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        await EndSessionsAsync(connection, userName, cancellationToken);
    }

    /// <summary>
    /// Stores a new session for the rights it was signed in with; expired sessions are swept out at the same time.
    /// False, and nothing stored, when the account was changed or disabled since (a sign-in that raced an account
    /// change must not outlive it with the new rights).
    /// </summary>
    public async Task<bool> AddSessionAsync(string id, OperatorScope scope, DateTimeOffset issuedAt, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand query = Command(connection, $"SELECT {Columns} FROM operators WHERE user_name = $name;");
        query.Parameters.AddWithValue("$name", Normalize(scope.UserName));
        OperatorAccount? account = await ReadFirstAsync(query, Read, cancellationToken);
        if (account is null || account.Disabled || account.Central != scope.Central || !scope.Districts.ToHashSet(StringComparer.Ordinal).SetEquals(account.Districts))
        {
            return false;
        }

        using SqliteCommand insert = Command(connection, """
            DELETE FROM operator_sessions WHERE expires_at_ms <= $issued;
            INSERT INTO operator_sessions (id, user_name, created_at_ms, issued_at_ms, expires_at_ms) VALUES ($id, $name, $issued, $issued, $expires);
            """);
        insert.Parameters.AddWithValue("$id", id);
        insert.Parameters.AddWithValue("$name", account.UserName);
        insert.Parameters.AddWithValue("$issued", issuedAt.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
        await insert.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Slides an existing session; a session already ended stays ended.</summary>
    public async Task RenewSessionAsync(string id, DateTimeOffset issuedAt, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, "UPDATE operator_sessions SET issued_at_ms = $issued, expires_at_ms = $expires WHERE id = $id;");
        update.Parameters.AddWithValue("$id", id);
        update.Parameters.AddWithValue("$issued", issuedAt.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A live session with its account as stored now; null when the session has ended or expired or the account
    /// is disabled.
    /// </summary>
    public async Task<OperatorSession?> FindSessionAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"""
            SELECT {string.Join(", ", Columns.Split(", ").Select(c => "o." + c))}, s.issued_at_ms, s.expires_at_ms
            FROM operator_sessions s JOIN operators o ON o.user_name = s.user_name
            WHERE s.id = $id AND s.expires_at_ms > $now AND o.disabled = 0;
            """);
        query.Parameters.AddWithValue("$id", id);
        query.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await ReadFirstAsync(query, r => new OperatorSession(id, Read(r),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7))), cancellationToken);
    }

    public async Task RemoveSessionAsync(string id, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand delete = Command(connection, "DELETE FROM operator_sessions WHERE id = $id;");
        delete.Parameters.AddWithValue("$id", id);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> CountSessionsAsync(string userName, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand count = Command(connection, "SELECT COUNT(*) FROM operator_sessions WHERE user_name = $name;");
        count.Parameters.AddWithValue("$name", Normalize(userName));
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task EndSessionsAsync(SqliteConnection connection, string userName, CancellationToken cancellationToken)
    {
        using SqliteCommand delete = Command(connection, "DELETE FROM operator_sessions WHERE user_name = $name;");
        delete.Parameters.AddWithValue("$name", Normalize(userName));
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static OperatorAccount Read(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetInt64(2) != 0,
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        r.GetString(4),
        r.GetInt64(5) != 0);
}
