using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Operators;

/// <summary>Operator accounts (operators.db): password hashes, districts, failed sign-ins and lockout.</summary>
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
            failed_sign_ins INTEGER NOT NULL DEFAULT 0,
            locked_until_ms INTEGER);
        """;

    private const string Columns = "user_name, display_name, central, districts, password_hash, failed_sign_ins, locked_until_ms";

    private readonly SqliteFile _database;

    public OperatorAccountStore(string dataDirectory)
    {
        _database = new SqliteFile(dataDirectory, FileName, SqliteSynchronous.Full, foreignKeys: false, Schema);
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

    /// <summary>Creates the account, or with <paramref name="replace"/> overwrites it (and clears its lockout).</summary>
    public async Task<bool> SaveAsync(OperatorAccount account, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand insert = Command(connection, $"""
            INSERT INTO operators ({Columns}) VALUES ($name, $display, $central, $districts, $hash, 0, NULL)
            ON CONFLICT (user_name) DO {(replace ? """
                UPDATE SET display_name = excluded.display_name, central = excluded.central, districts = excluded.districts,
                password_hash = excluded.password_hash, failed_sign_ins = 0, locked_until_ms = NULL
                """ : "NOTHING")};
            """);
        insert.Parameters.AddWithValue("$name", Normalize(account.UserName));
        insert.Parameters.AddWithValue("$display", account.DisplayName);
        insert.Parameters.AddWithValue("$central", account.Central ? 1 : 0);
        insert.Parameters.AddWithValue("$districts", string.Join(' ', account.Districts));
        insert.Parameters.AddWithValue("$hash", account.PasswordHash);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Counts a wrong password; locks the account once <paramref name="maxFailures"/> is reached. After a lock has
    /// expired, counting starts again from one.
    /// </summary>
    public async Task<bool> RecordFailureAsync(string userName, int maxFailures, DateTimeOffset now, DateTimeOffset lockUntil, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, """
            UPDATE operators SET
                failed_sign_ins = CASE WHEN locked_until_ms <= $now THEN 1 ELSE failed_sign_ins + 1 END,
                locked_until_ms = CASE
                    WHEN (CASE WHEN locked_until_ms <= $now THEN 1 ELSE failed_sign_ins + 1 END) >= $max THEN $until
                    WHEN locked_until_ms <= $now THEN NULL
                    ELSE locked_until_ms END
            WHERE user_name = $name
            RETURNING locked_until_ms IS NOT NULL;
            """);
        update.Parameters.AddWithValue("$name", Normalize(userName));
        update.Parameters.AddWithValue("$max", maxFailures);
        update.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$until", lockUntil.ToUnixTimeMilliseconds());
        object? locked = await update.ExecuteScalarAsync(cancellationToken);
        return locked is long value && value != 0;
    }

    /// <summary>A successful sign-in clears the failure count and any expired lock.</summary>
    public async Task ClearFailuresAsync(string userName, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, "UPDATE operators SET failed_sign_ins = 0, locked_until_ms = NULL WHERE user_name = $name;");
        update.Parameters.AddWithValue("$name", Normalize(userName));
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private static OperatorAccount Read(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetInt64(2) != 0,
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        r.GetString(4),
        r.GetInt32(5),
        r.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)));
}
