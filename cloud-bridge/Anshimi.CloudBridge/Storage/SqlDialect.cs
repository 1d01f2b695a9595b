using System.Data.Common;

namespace Anshimi.CloudBridge.Storage;

/// <summary>
/// Where SQLite and PostgreSQL differ in what the stores write. Everything else is portable SQL: <c>@name</c>
/// parameters, <c>INSERT ... ON CONFLICT ... DO NOTHING</c>, <c>RETURNING</c>, partial indexes.
/// </summary>
public abstract class SqlDialect
{
    public static readonly SqlDialect Sqlite = new SqliteDialect();

    public static readonly SqlDialect PostgreSql = new PostgreSqlDialect();

    public abstract StorageProvider Provider { get; }

    /// <summary>
    /// Appended to a SELECT that claims rows for this instance alone (an outbox): PostgreSQL locks the rows and skips
    /// those another instance holds; SQLite needs nothing, a write transaction there already excludes every other writer.
    /// </summary>
    public abstract string ForUpdateSkipLocked { get; }

    /// <summary>Appended to a SELECT whose rows the transaction goes on to change, so a concurrent writer waits.</summary>
    public abstract string ForUpdate { get; }

    /// <summary>
    /// Makes every transaction that takes <paramref name="lockKey"/> run one after another until it ends (an append-only chain).
    /// PostgreSQL: a transaction-scoped advisory lock; SQLite: nothing, its write transactions are already serial.
    /// </summary>
    public abstract Task SerialiseAsync(DbConnection connection, long lockKey, CancellationToken cancellationToken);

    private sealed class SqliteDialect : SqlDialect
    {
        public override StorageProvider Provider => StorageProvider.Sqlite;

        public override string ForUpdateSkipLocked => "";

        public override string ForUpdate => "";

        public override Task SerialiseAsync(DbConnection connection, long lockKey, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class PostgreSqlDialect : SqlDialect
    {
        public override StorageProvider Provider => StorageProvider.PostgreSql;

        public override string ForUpdateSkipLocked => " FOR UPDATE SKIP LOCKED";

        public override string ForUpdate => " FOR UPDATE";

        public override async Task SerialiseAsync(DbConnection connection, long lockKey, CancellationToken cancellationToken)
        {
            await using DbCommand command = StoreDatabase.Command(connection, "SELECT pg_advisory_xact_lock(@key);", ("key", lockKey));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
