using System.Security.Cryptography;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Snapshots;

/// <summary>What became of one stored chunk.</summary>
public enum ChunkOutcome
{
    /// <summary>Stored durably; <see cref="ChunkAddResult.Held"/> chunks of the snapshot are now held.</summary>
    Stored,

    /// <summary>This index was already held; nothing changed.</summary>
    Duplicate,

    /// <summary>The snapshot is already complete: the device missed the stage-4 ack.</summary>
    AlreadyComplete,

    /// <summary>The chunk disagrees with the ones held (count or event); nothing changed.</summary>
    Inconsistent,
}

public readonly record struct ChunkAddResult(ChunkOutcome Outcome, int Held);

/// <summary>A reassembled snapshot due for the cloud.</summary>
public sealed record SnapshotOutboxItem(long Sequence, AlarmKey Key, ContactIdEvent Event, DateTimeOffset TakenAt, string Sha256Hex, byte[] Image, int Attempts)
    : Outbox.IOutboxRow
{
    string Outbox.IOutboxRow.Key => "snapshot " + Key;
}

/// <summary>
/// Doorbell snapshots in the gateway's SQLite file: chunks as they arrive (so a restart mid-snapshot
/// loses nothing), completed images, and the outbox that forwards them until the cloud's receipt.
/// Every write that leads to a device ack commits (synchronous=FULL) before it returns.
/// </summary>
public sealed class SnapshotStore(GatewayDatabase database)
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS snapshots (
            device_id    INTEGER NOT NULL,
            snapshot_id  INTEGER NOT NULL,
            event_code   INTEGER NOT NULL,
            qualifier    INTEGER NOT NULL,
            zone         INTEGER NOT NULL,
            chunk_count  INTEGER NOT NULL,
            length       INTEGER,
            sha256       BLOB,
            first_at     INTEGER NOT NULL,
            completed_at INTEGER,
            image        BLOB,
            receipted_at INTEGER,
            PRIMARY KEY (device_id, snapshot_id)
        );
        CREATE TABLE IF NOT EXISTS snapshot_chunks (
            device_id   INTEGER NOT NULL,
            snapshot_id INTEGER NOT NULL,
            idx         INTEGER NOT NULL,
            data        BLOB    NOT NULL,
            PRIMARY KEY (device_id, snapshot_id, idx)
        );
        CREATE TABLE IF NOT EXISTS snapshot_outbox (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id       INTEGER NOT NULL,
            snapshot_id     INTEGER NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            UNIQUE (device_id, snapshot_id)
        );
        CREATE INDEX IF NOT EXISTS snapshot_outbox_due ON snapshot_outbox (next_attempt_at);
        """;

    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>
    /// In one transaction: stores the chunk (and, for chunk 0, the manifest) and raises the device's
    /// replay floor, unless the chunk is a duplicate or disagrees with what is held.
    /// </summary>
    public async Task<ChunkAddResult> AddChunkAsync(Frame chunk, DateTimeOffset at, CancellationToken cancellationToken)
    {
        uint snapshotId = FramePayloads.SnapshotId(chunk);
        int index = FramePayloads.ChunkIndex(chunk);
        int count = FramePayloads.ChunkCount(chunk);
        byte[] data = chunk.Payload[FramePayloads.SnapshotHeaderLength..];

        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using (SqliteCommand read = Command(connection, transaction, """
            SELECT chunk_count, event_code, qualifier, zone, completed_at IS NOT NULL,
                   (SELECT count(*) FROM snapshot_chunks c WHERE c.device_id = $device AND c.snapshot_id = $id),
                   EXISTS (SELECT 1 FROM snapshot_chunks c WHERE c.device_id = $device AND c.snapshot_id = $id AND c.idx = $idx)
            FROM snapshots WHERE device_id = $device AND snapshot_id = $id;
            """))
        {
            AddKey(read, chunk.DeviceId, snapshotId);
            read.Parameters.AddWithValue("$idx", index);
            await using SqliteDataReader row = await read.ExecuteReaderAsync(cancellationToken);
            if (await row.ReadAsync(cancellationToken))
            {
                if (row.GetInt64(4) != 0)
                {
                    return new ChunkAddResult(ChunkOutcome.AlreadyComplete, count);
                }

                if (row.GetInt32(0) != count || row.GetInt32(1) != chunk.EventCode || row.GetInt32(2) != chunk.Qualifier || row.GetInt32(3) != chunk.Zone)
                {
                    return new ChunkAddResult(ChunkOutcome.Inconsistent, row.GetInt32(5));
                }

                if (row.GetInt64(6) != 0)
                {
                    return new ChunkAddResult(ChunkOutcome.Duplicate, row.GetInt32(5));
                }
            }
        }

        await using (SqliteCommand write = Command(connection, transaction, """
            INSERT OR IGNORE INTO snapshots (device_id, snapshot_id, event_code, qualifier, zone, chunk_count, first_at)
            VALUES ($device, $id, $code, $qualifier, $zone, $count, $at);
            INSERT INTO snapshot_chunks (device_id, snapshot_id, idx, data) VALUES ($device, $id, $idx, $data);
            UPDATE devices SET highest_counter = max(highest_counter, $counter), last_seen = max(coalesce(last_seen, 0), $at)
            WHERE id = $device;
            """))
        {
            AddKey(write, chunk.DeviceId, snapshotId);
            write.Parameters.AddWithValue("$code", (int)chunk.EventCode);
            write.Parameters.AddWithValue("$qualifier", (int)chunk.Qualifier);
            write.Parameters.AddWithValue("$zone", (int)chunk.Zone);
            write.Parameters.AddWithValue("$count", count);
            write.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            write.Parameters.AddWithValue("$idx", index);
            write.Parameters.AddWithValue("$data", data);
            write.Parameters.AddWithValue("$counter", (long)chunk.Counter);
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        int held;
        await using (SqliteCommand countHeld = Command(connection, transaction, "SELECT count(*) FROM snapshot_chunks WHERE device_id = $device AND snapshot_id = $id;"))
        {
            AddKey(countHeld, chunk.DeviceId, snapshotId);
            held = Convert.ToInt32(await countHeld.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        await transaction.CommitAsync(cancellationToken);
        return new ChunkAddResult(ChunkOutcome.Stored, held);
    }

    /// <summary>
    /// With every chunk held: joins them and checks the manifest's length and SHA-256. On success, in
    /// one transaction, stores the image, drops the chunks and (for <paramref name="forward"/>) queues it
    /// for the cloud, and returns null. On failure drops the snapshot's chunks, so a clean resend can
    /// start over, and returns the reason.
    /// </summary>
    public async Task<string?> CompleteAsync(uint deviceId, uint snapshotId, bool forward, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        var parts = new List<byte[]>();
        await using (SqliteCommand read = Command(connection, transaction, "SELECT idx, data FROM snapshot_chunks WHERE device_id = $device AND snapshot_id = $id ORDER BY idx;"))
        {
            AddKey(read, deviceId, snapshotId);
            await using SqliteDataReader rows = await read.ExecuteReaderAsync(cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                parts.Add((byte[])rows[1]);
            }
        }

        string? failure = Verify(parts, out byte[] image, out byte[] hash);
        string sql = failure is null
            ? """
              UPDATE snapshots SET length = $length, sha256 = $hash, image = $image, completed_at = $at WHERE device_id = $device AND snapshot_id = $id;
              DELETE FROM snapshot_chunks WHERE device_id = $device AND snapshot_id = $id;
              """ + (forward ? "INSERT OR IGNORE INTO snapshot_outbox (device_id, snapshot_id, next_attempt_at) VALUES ($device, $id, $at);" : "")
            : """
              DELETE FROM snapshot_chunks WHERE device_id = $device AND snapshot_id = $id;
              DELETE FROM snapshots WHERE device_id = $device AND snapshot_id = $id;
              """;
        await using (SqliteCommand write = Command(connection, transaction, sql))
        {
            AddKey(write, deviceId, snapshotId);
            write.Parameters.AddWithValue("$length", image.Length);
            write.Parameters.AddWithValue("$hash", hash);
            write.Parameters.AddWithValue("$image", image);
            write.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return failure;
    }

    /// <summary>Deletes snapshots still incomplete whose first chunk came before <paramref name="before"/>; returns how many.</summary>
    public async Task<int> ExpireIncompleteAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = Command(connection, transaction, """
            DELETE FROM snapshot_chunks WHERE (device_id, snapshot_id) IN
                (SELECT device_id, snapshot_id FROM snapshots WHERE completed_at IS NULL AND first_at < $before);
            DELETE FROM snapshots WHERE completed_at IS NULL AND first_at < $before;
            SELECT changes();
            """);
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        int expired = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken);
        return expired;
    }

    /// <summary>
    /// Deletes the image (keeping the row, so a late resend is still recognised) of snapshots completed
    /// before <paramref name="before"/> that are no longer waiting for the cloud.
    /// </summary>
    public async Task<int> PurgeImagesAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            UPDATE snapshots SET image = NULL
            WHERE image IS NOT NULL AND completed_at < $before
              AND NOT EXISTS (SELECT 1 FROM snapshot_outbox o WHERE o.device_id = snapshots.device_id AND o.snapshot_id = snapshots.snapshot_id);
            """;
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The stored image of a completed snapshot, or null.</summary>
    public async Task<byte[]?> GetImageAsync(AlarmKey key, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT image FROM snapshots WHERE device_id = $device AND snapshot_id = $id AND completed_at IS NOT NULL;";
        AddKey(command, key.DeviceId, key.Counter);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public async Task<IReadOnlyList<SnapshotOutboxItem>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();

        // The picture was taken with its event: the event's arrival is the best time the gateway knows.
        command.CommandText = """
            SELECT o.seq, o.device_id, o.snapshot_id, s.event_code, s.qualifier, s.zone,
                   coalesce(a.received_at, s.first_at), s.sha256, s.image, o.attempts
            FROM snapshot_outbox o
            JOIN snapshots s ON s.device_id = o.device_id AND s.snapshot_id = o.snapshot_id
            LEFT JOIN alarms a ON a.device_id = o.device_id AND a.counter = o.snapshot_id
            WHERE o.next_attempt_at <= $now AND s.image IS NOT NULL
            ORDER BY o.seq
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", limit);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<SnapshotOutboxItem>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new SnapshotOutboxItem(
                reader.GetInt64(0),
                new AlarmKey((uint)reader.GetInt64(1), (uint)reader.GetInt64(2)),
                new ContactIdEvent(reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                Convert.ToHexStringLower((byte[])reader[7]),
                (byte[])reader[8],
                reader.GetInt32(9)));
        }

        return items;
    }

    public async Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE snapshot_outbox SET attempts = $attempts, next_attempt_at = $next WHERE seq = $seq;";
        command.Parameters.AddWithValue("$attempts", attempts);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seq", sequence);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The cloud has the snapshot: drops its outbox row. False when no row was waiting.</summary>
    public async Task<bool> RecordReceiptAsync(AlarmKey key, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = Command(connection, transaction, """
            DELETE FROM snapshot_outbox WHERE device_id = $device AND snapshot_id = $id;
            SELECT changes();
            """);
        AddKey(command, key.DeviceId, key.Counter);
        bool removed = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
        if (removed)
        {
            await using SqliteCommand stamp = Command(connection, transaction, "UPDATE snapshots SET receipted_at = coalesce(receipted_at, $at) WHERE device_id = $device AND snapshot_id = $id;");
            AddKey(stamp, key.DeviceId, key.Counter);
            stamp.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            await stamp.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT min(next_attempt_at) FROM snapshot_outbox;";
        object? value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>Chunk 0 is the manifest (length, SHA-256); the rest joined must match it.</summary>
    private static string? Verify(List<byte[]> parts, out byte[] image, out byte[] hash)
    {
        image = [];
        hash = [];
        if (parts.Count < 2 || parts[0].Length != FramePayloads.SnapshotManifestLength)
        {
            return SnapshotAssembler.BadManifest;
        }

        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(parts[0]);
        long joined = parts.Skip(1).Sum(p => (long)p.Length);
        if (joined != length)
        {
            return SnapshotAssembler.LengthMismatch;
        }

        image = new byte[length];
        int offset = 0;
        foreach (byte[] part in parts.Skip(1))
        {
            part.CopyTo(image, offset);
            offset += part.Length;
        }

        hash = SHA256.HashData(image);
        if (!CryptographicOperations.FixedTimeEquals(hash, parts[0].AsSpan(4)))
        {
            image = [];
            hash = [];
            return SnapshotAssembler.HashMismatch;
        }

        return null;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = await database.OpenAsync(cancellationToken);
        if (_schemaReady)
        {
            return connection;
        }

        // Created on first use: chunks may arrive before any other startup work has run.
        try
        {
            await _schemaLock.WaitAsync(cancellationToken);
            try
            {
                if (!_schemaReady)
                {
                    await using SqliteCommand create = connection.CreateCommand();
                    create.CommandText = Schema;
                    await create.ExecuteNonQueryAsync(cancellationToken);
                    _schemaReady = true;
                }
            }
            finally
            {
                _schemaLock.Release();
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void AddKey(SqliteCommand command, uint deviceId, uint snapshotId)
    {
        command.Parameters.AddWithValue("$device", (long)deviceId);
        command.Parameters.AddWithValue("$id", (long)snapshotId);
    }
}
