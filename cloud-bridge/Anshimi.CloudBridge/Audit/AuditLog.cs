using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Audit;

/// <summary>
/// Append-only, hash-chained record of who did what and when (DESIGN §4 "every access is written to an audit log").
/// Each row holds SHA-256 over its own fields and the previous row's hash; SQLite triggers refuse UPDATE and
/// DELETE, so the system cannot edit it, and <see cref="VerifyAsync"/> detects edits made around it.
/// Lives in the alarm file (alarms.db) so that an operator action, its ack-outbox row and its audit row commit in one
/// transaction (<see cref="AppendInTransactionAsync"/>); its own retention, longer than the alarms', keeps it apart.
/// </summary>
public sealed class AuditLog
{
    public const string FileName = "alarms.db";

    /// <summary>The previous hash of the first row ever written.</summary>
    public const string Genesis = "";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            district TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS audit_horizon (
            single INTEGER PRIMARY KEY CHECK (single = 1),
            purged_through INTEGER NOT NULL,
            anchor_hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS audit_by_target ON audit(target, action, actor);
        INSERT OR IGNORE INTO audit_horizon (single, purged_through, anchor_hash) VALUES (1, 0, '');
        CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
        WHEN OLD.id > (SELECT purged_through FROM audit_horizon)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_horizon_forward BEFORE UPDATE ON audit_horizon
        WHEN NEW.purged_through < OLD.purged_through
        BEGIN SELECT RAISE(ABORT, 'the audit horizon only moves forward'); END;
        """;

    private readonly SqliteFile _database;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writer = new(1, 1);

    public AuditLog(string dataDirectory, TimeProvider time)
    {
        _database = new SqliteFile(dataDirectory, FileName, SqliteSynchronous.Full, foreignKeys: false, Schema);
        _time = time;
    }

    public string DatabasePath => _database.DatabasePath;

    /// <summary>Appends one entry, stamped now; the write is durable when this returns.</summary>
    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using SqliteConnection connection = _database.Open();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            AuditRecord record = await AppendAsync(connection, entry, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return record;
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>
    /// Appends one entry inside a transaction the caller holds on the alarm file, so the entry commits or rolls back
    /// with the action it records. The caller's write transaction serialises the chain (SQLite allows one writer).
    /// </summary>
    public Task<AuditRecord> AppendInTransactionAsync(SqliteConnection connection, AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(entry);
        if (!string.Equals(Path.GetFullPath(connection.DataSource), DatabasePath, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("An audit entry can only share a transaction on the file the audit log lives in.");
        }

        return AppendAsync(connection, entry, cancellationToken);
    }

    /// <summary>
    /// Appends <paramref name="entry"/> unless an identical one (actor, action, target, detail) is already recorded:
    /// one row per thing seen, however often a list that shows it is polled. True when it was appended.
    /// </summary>
    public async Task<bool> AppendOnceAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using SqliteConnection connection = _database.Open();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            using SqliteCommand seen = Command(connection, """
                SELECT 1 FROM audit WHERE target = $target AND action = $action AND actor = $actor AND detail = $detail LIMIT 1;
                """);
            seen.Parameters.AddWithValue("$target", entry.Target);
            seen.Parameters.AddWithValue("$action", entry.Action);
            seen.Parameters.AddWithValue("$actor", entry.Actor);
            seen.Parameters.AddWithValue("$detail", entry.Detail);
            if (await seen.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return false;
            }

            await AppendAsync(connection, entry, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>The newest entry of <paramref name="actor"/> doing <paramref name="action"/> to <paramref name="target"/>, if any.</summary>
    public async Task<AuditRecord?> FindLatestAsync(string actor, string action, string target, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT id, at, actor, action, target, district, outcome, detail, prev_hash, hash FROM audit
            WHERE target = $target AND action = $action AND actor = $actor ORDER BY id DESC LIMIT 1;
            """);
        query.Parameters.AddWithValue("$target", target);
        query.Parameters.AddWithValue("$action", action);
        query.Parameters.AddWithValue("$actor", actor);
        return await ReadFirstAsync(query, Read, cancellationToken);
    }

    /// <summary>Newest first, the entries of <paramref name="actor"/> doing <paramref name="action"/>.</summary>
    public async Task<IReadOnlyList<AuditRecord>> ListByActorAsync(string actor, string action, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT id, at, actor, action, target, district, outcome, detail, prev_hash, hash FROM audit
            WHERE actor = $actor AND action = $action ORDER BY id DESC LIMIT $limit;
            """);
        query.Parameters.AddWithValue("$actor", actor);
        query.Parameters.AddWithValue("$action", action);
        query.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(query, Read, cancellationToken);
    }

    /// <summary>Newest first, optionally only entries about <paramref name="target"/>.</summary>
    public async Task<IReadOnlyList<AuditRecord>> ListAsync(int limit, string? target, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, target is null
            ? "SELECT id, at, actor, action, target, district, outcome, detail, prev_hash, hash FROM audit ORDER BY id DESC LIMIT $limit;"
            : "SELECT id, at, actor, action, target, district, outcome, detail, prev_hash, hash FROM audit WHERE target = $target ORDER BY id DESC LIMIT $limit;");
        query.Parameters.AddWithValue("$limit", limit);
        if (target is not null)
        {
            query.Parameters.AddWithValue("$target", target);
        }

        return await ReadAllAsync(query, Read, cancellationToken);
    }

    /// <summary>
    /// Re-computes the chain from the retention horizon onwards; names the first row whose hash, link or
    /// position does not match, e.g. after someone edited the file with raw SQL.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        (long purgedThrough, string expectedPrevious) = await ReadHorizonAsync(connection, cancellationToken);
        using SqliteCommand query = Command(connection,
            "SELECT id, at, actor, action, target, district, outcome, detail, prev_hash, hash FROM audit ORDER BY id;");
        long expectedId = purgedThrough + 1;
        long count = 0;
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            AuditRecord row = Read(reader);
            string? problem = row.Id != expectedId ? $"expected row {expectedId}, found row {row.Id} (rows missing or inserted)"
                : row.PreviousHash != expectedPrevious ? "previous-hash link does not match the row before"
                : row.Hash != HashOf(row.Id, row.At, row.Entry, row.PreviousHash) ? "content does not match its hash"
                : null;
            if (problem is not null)
            {
                return new AuditVerification(false, count, row.Id, problem);
            }

            expectedPrevious = row.Hash;
            expectedId++;
            count++;
        }

        return new AuditVerification(true, count, null, null);
    }

    /// <summary>
    /// Drops entries older than <paramref name="cutoff"/> from the front of the chain (the audit log's own,
    /// longer retention). The horizon keeps the last dropped hash so the rest still verifies; the purge is
    /// itself audited. Returns how many rows went.
    /// </summary>
    public async Task<long> PurgeBeforeAsync(DateTimeOffset cutoff, string actor, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using SqliteConnection connection = _database.Open();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            using SqliteCommand last = Command(connection, "SELECT id, hash FROM audit WHERE at < $cutoff ORDER BY id DESC LIMIT 1;");
            last.Parameters.AddWithValue("$cutoff", Text(cutoff));
            long through;
            string anchor;
            await using (SqliteDataReader reader = await last.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return 0;
                }

                through = reader.GetInt64(0);
                anchor = reader.GetString(1);
            }

            using SqliteCommand horizon = Command(connection, "UPDATE audit_horizon SET purged_through = $through, anchor_hash = $anchor WHERE single = 1;");
            horizon.Parameters.AddWithValue("$through", through);
            horizon.Parameters.AddWithValue("$anchor", anchor);
            await horizon.ExecuteNonQueryAsync(cancellationToken);
            using SqliteCommand delete = Command(connection, "DELETE FROM audit WHERE id <= $through;");
            delete.Parameters.AddWithValue("$through", through);
            long removed = await delete.ExecuteNonQueryAsync(cancellationToken);
            await AppendAsync(connection, new AuditEntry(actor, AuditAction.RetentionPurge, "audit", "", AuditOutcome.Done,
                "removed=" + removed.ToString(CultureInfo.InvariantCulture)), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return removed;
        }
        finally
        {
            _writer.Release();
        }
    }

    internal static string HashOf(long id, DateTimeOffset at, AuditEntry entry, string previousHash)
    {
        // A JSON array keeps field boundaries unambiguous whatever the fields contain.
        string canonical = JsonSerializer.Serialize(new object[]
        {
            id, Text(at), entry.Actor, entry.Action, entry.Target, entry.District, entry.Outcome, entry.Detail, previousHash,
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private async Task<AuditRecord> AppendAsync(SqliteConnection connection, AuditEntry entry, CancellationToken cancellationToken)
    {
        using SqliteCommand last = Command(connection, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1;");
        long id;
        string previous;
        await using (SqliteDataReader reader = await last.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                id = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
            else
            {
                (long purgedThrough, previous) = await ReadHorizonAsync(connection, cancellationToken);
                id = purgedThrough + 1;
            }
        }

        // Stored at the precision of its text form, so the hash is recomputed from exactly what was stored.
        DateTimeOffset at = Time(Text(_time.GetUtcNow()));
        string hash = HashOf(id, at, entry, previous);
        using SqliteCommand insert = Command(connection, """
            INSERT INTO audit (id, at, actor, action, target, district, outcome, detail, prev_hash, hash)
            VALUES ($id, $at, $actor, $action, $target, $district, $outcome, $detail, $prev, $hash);
            """);
        insert.Parameters.AddWithValue("$id", id);
        insert.Parameters.AddWithValue("$at", Text(at));
        insert.Parameters.AddWithValue("$actor", entry.Actor);
        insert.Parameters.AddWithValue("$action", entry.Action);
        insert.Parameters.AddWithValue("$target", entry.Target);
        insert.Parameters.AddWithValue("$district", entry.District);
        insert.Parameters.AddWithValue("$outcome", entry.Outcome);
        insert.Parameters.AddWithValue("$detail", entry.Detail);
        insert.Parameters.AddWithValue("$prev", previous);
        insert.Parameters.AddWithValue("$hash", hash);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return new AuditRecord(id, at, entry, previous, hash);
    }

    private static async Task<(long PurgedThrough, string Anchor)> ReadHorizonAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using SqliteCommand query = Command(connection, "SELECT purged_through, anchor_hash FROM audit_horizon WHERE single = 1;");
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : (0, Genesis);
    }

    private static AuditRecord Read(SqliteDataReader r) => new(
        r.GetInt64(0),
        Time(r.GetString(1)),
        new AuditEntry(r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7)),
        r.GetString(8),
        r.GetString(9));
}
