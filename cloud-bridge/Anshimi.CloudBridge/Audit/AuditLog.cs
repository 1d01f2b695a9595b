using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Data.Common;
using Anshimi.CloudBridge.Storage;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Audit;

/// <summary>
/// Append-only, hash-chained record of who did what and when (DESIGN §4 "every access is written to an audit log").
/// Each row holds SHA-256 over its own fields and the previous row's hash; database triggers refuse UPDATE and
/// DELETE, so the system cannot edit it, and <see cref="VerifyAsync"/> detects edits made around it.
/// Lives in the alarm file so that an operator action, its ack-outbox row and its audit row commit in one
/// transaction (<see cref="AppendInTransactionAsync"/>); its own retention, longer than the alarms', keeps it apart.
/// Every append takes the chain's lock in its transaction, so bridge instances sharing one PostgreSQL database append
/// one after another and the chain stays one chain.
/// </summary>
public sealed class AuditLog
{
    /// <summary>The previous hash of the first row ever written.</summary>
    public const string Genesis = "";

    // Any fixed number, the same in every instance: the lock that serialises appends to the chain.
    private const long ChainLock = 0x616e_7368_696d_6902;

    private const string Columns = "id, at, actor, action, target, district, outcome, detail, prev_hash, hash";

    private readonly StoreDatabase _database;
    private readonly TimeProvider _time;

    public AuditLog(StoreDatabase alarmFile, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(alarmFile);
        _database = alarmFile;
        _time = time;
    }

    /// <summary>The embedded default: the audit table of <c>alarms.db</c> in <paramref name="dataDirectory"/>.</summary>
    public AuditLog(string dataDirectory, TimeProvider time)
        : this(StoreDatabase.Open(new StorageOptions(), dataDirectory, StoreFile.Alarms), time)
    {
    }

    /// <summary>The SQLite file's path, or the PostgreSQL hosts and database.</summary>
    public string DatabasePath => _database.Description;

    /// <summary>Appends one entry, stamped now; the write is durable when this returns.</summary>
    public Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _database.WriteAsync((connection, ct) => AppendAsync(connection, entry, ct), cancellationToken);
    }

    /// <summary>
    /// Appends one entry inside a transaction the caller holds on the alarm file, so the entry commits or rolls back
    /// with the action it records.
    /// </summary>
    public Task<AuditRecord> AppendInTransactionAsync(DbConnection connection, AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(entry);
        if (!_database.Owns(connection))
        {
            throw new InvalidOperationException("An audit entry can only share a transaction on the database the audit log lives in.");
        }

        return AppendAsync(connection, entry, cancellationToken);
    }

    /// <summary>
    /// Appends <paramref name="entry"/> unless an identical one (actor, action, target, detail) is already recorded:
    /// one row per thing seen, however often a list that shows it is polled. True when it was appended.
    /// </summary>
    public Task<bool> AppendOnceAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _database.WriteAsync(async (connection, ct) =>
        {
            // Looked for under the chain's lock, so two instances seeing the same thing append it once.
            await _database.Dialect.SerialiseAsync(connection, ChainLock, ct);
            await using DbCommand seen = Command(connection, """
                SELECT 1 FROM audit WHERE target = @target AND action = @action AND actor = @actor AND detail = @detail LIMIT 1;
                """, ("target", entry.Target), ("action", entry.Action), ("actor", entry.Actor), ("detail", entry.Detail));
            if (await seen.ExecuteScalarAsync(ct) is not null)
            {
                return false;
            }

            await AppendAsync(connection, entry, ct);
            return true;
        }, cancellationToken);
    }

    /// <summary>The newest entry of <paramref name="actor"/> doing <paramref name="action"/> to <paramref name="target"/>, if any.</summary>
    public Task<AuditRecord?> FindLatestAsync(string actor, string action, string target, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"""
                SELECT {Columns} FROM audit WHERE target = @target AND action = @action AND actor = @actor ORDER BY id DESC LIMIT 1;
                """, ("target", target), ("action", action), ("actor", actor));
            return await ReadFirstAsync(query, Read, ct);
        }, cancellationToken);

    /// <summary>Newest first, the entries of <paramref name="actor"/> doing <paramref name="action"/>.</summary>
    public Task<IReadOnlyList<AuditRecord>> ListByActorAsync(string actor, string action, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<AuditRecord>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"""
                SELECT {Columns} FROM audit WHERE actor = @actor AND action = @action ORDER BY id DESC LIMIT @limit;
                """, ("actor", actor), ("action", action), ("limit", limit));
            return await ReadAllAsync(query, Read, ct);
        }, cancellationToken);

    /// <summary>Newest first, optionally only entries about <paramref name="target"/>.</summary>
    public Task<IReadOnlyList<AuditRecord>> ListAsync(int limit, string? target, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<AuditRecord>>(async (connection, ct) =>
        {
            await using DbCommand query = target is null
                ? Command(connection, $"SELECT {Columns} FROM audit ORDER BY id DESC LIMIT @limit;", ("limit", limit))
                : Command(connection, $"SELECT {Columns} FROM audit WHERE target = @target ORDER BY id DESC LIMIT @limit;", ("limit", limit), ("target", target));
            return await ReadAllAsync(query, Read, ct);
        }, cancellationToken);

    /// <summary>
    /// Re-computes the chain from the retention horizon onwards; names the first row whose hash, link or
    /// position does not match, e.g. after someone edited the table with raw SQL.
    /// </summary>
    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            (long purgedThrough, string expectedPrevious) = await ReadHorizonAsync(connection, ct);
            await using DbCommand query = Command(connection, $"SELECT {Columns} FROM audit ORDER BY id;");
            long expectedId = purgedThrough + 1;
            long count = 0;
            await using DbDataReader reader = await query.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
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
        }, cancellationToken);

    /// <summary>
    /// Drops entries older than <paramref name="cutoff"/> from the front of the chain (the audit log's own,
    /// longer retention). The horizon keeps the last dropped hash so the rest still verifies; the purge is
    /// itself audited. Returns how many rows went.
    /// </summary>
    public Task<long> PurgeBeforeAsync(DateTimeOffset cutoff, string actor, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, ct) =>
        {
            await _database.Dialect.SerialiseAsync(connection, ChainLock, ct);
            await using DbCommand last = Command(connection, "SELECT id, hash FROM audit WHERE at < @cutoff ORDER BY id DESC LIMIT 1;", ("cutoff", Text(cutoff)));
            long through;
            string anchor;
            await using (DbDataReader reader = await last.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct))
                {
                    return 0L;
                }

                through = reader.GetInt64(0);
                anchor = reader.GetString(1);
            }

            await ExecuteAsync(connection, "UPDATE audit_horizon SET purged_through = @through, anchor_hash = @anchor WHERE single = 1;", ct,
                ("through", through), ("anchor", anchor));
            long removed = await ExecuteAsync(connection, "DELETE FROM audit WHERE id <= @through;", ct, ("through", through));
            await AppendAsync(connection, new AuditEntry(actor, AuditAction.RetentionPurge, "audit", "", AuditOutcome.Done,
                "removed=" + removed.ToString(CultureInfo.InvariantCulture)), ct);
            return removed;
        }, cancellationToken);

    internal static string HashOf(long id, DateTimeOffset at, AuditEntry entry, string previousHash)
    {
        // A JSON array keeps field boundaries unambiguous whatever the fields contain.
        string canonical = JsonSerializer.Serialize(new object[]
        {
            id, Text(at), entry.Actor, entry.Action, entry.Target, entry.District, entry.Outcome, entry.Detail, previousHash,
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private async Task<AuditRecord> AppendAsync(DbConnection connection, AuditEntry entry, CancellationToken cancellationToken)
    {
        // Held to the end of the caller's transaction: the next append reads this row as the chain's head.
        await _database.Dialect.SerialiseAsync(connection, ChainLock, cancellationToken);
        await using DbCommand last = Command(connection, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1;");
        long id;
        string previous;
        await using (DbDataReader reader = await last.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                id = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
            else
            {
                id = -1;
                previous = Genesis;
            }
        }

        if (id < 0)
        {
            (long purgedThrough, previous) = await ReadHorizonAsync(connection, cancellationToken);
            id = purgedThrough + 1;
        }

        // Stored at the precision of its text form, so the hash is recomputed from exactly what was stored.
        DateTimeOffset at = Time(Text(_time.GetUtcNow()));
        string hash = HashOf(id, at, entry, previous);
        await ExecuteAsync(connection, $"""
            INSERT INTO audit ({Columns})
            VALUES (@id, @at, @actor, @action, @target, @district, @outcome, @detail, @prev, @hash);
            """, cancellationToken,
            ("id", id), ("at", Text(at)), ("actor", entry.Actor), ("action", entry.Action), ("target", entry.Target),
            ("district", entry.District), ("outcome", entry.Outcome), ("detail", entry.Detail), ("prev", previous), ("hash", hash));
        return new AuditRecord(id, at, entry, previous, hash);
    }

    private static async Task<(long PurgedThrough, string Anchor)> ReadHorizonAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using DbCommand query = Command(connection, "SELECT purged_through, anchor_hash FROM audit_horizon WHERE single = 1;");
        await using DbDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : (0, Genesis);
    }

    private static AuditRecord Read(DbDataReader r) => new(
        r.GetInt64(0),
        Time(r.GetString(1)),
        new AuditEntry(r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7)),
        r.GetString(8),
        r.GetString(9));
}
