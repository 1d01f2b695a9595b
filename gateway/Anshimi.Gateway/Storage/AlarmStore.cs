using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Storage;

/// <summary>An outbox row joined with its alarm and device: everything an upstream envelope needs.</summary>
public sealed record OutboxItem(
    long Sequence,
    AlarmKey AlarmKey,
    ushort EventCode,
    byte Qualifier,
    ushort Zone,
    byte[] Frame,
    DateTimeOffset ReceivedAt,
    int Attempts,
    string Profile,
    SiteInfo Site,
    bool Test,
    string? TraceParent) : Outbox.IOutboxRow
{
    public string Key => AlarmKey.ToString();
}

/// <summary>What the gateway knows of an alarm counter it has seen before.</summary>
public enum AlarmRecord
{
    /// <summary>Never stored.</summary>
    Unknown,

    /// <summary>Stored and still kept.</summary>
    Stored,

    /// <summary>At or below the device's highest purged counter: stored once and deleted at the end of its retention.</summary>
    Purged,
}

/// <summary>
/// Alarms the gateway has accepted, their upstream outbox, and the downlink counters of the acks
/// that report them. Every method that leads to a device ack commits before it returns.
/// </summary>
public sealed class AlarmStore(GatewayDatabase database)
{
    public async Task<AlarmRecord> LookUpAsync(AlarmKey key, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT 1 FROM alarms WHERE device_id = $device AND counter = $counter
            UNION ALL SELECT 2 FROM devices WHERE id = $device AND $counter <= purged_counter
            ORDER BY 1 LIMIT 1;
            """;
        AddKey(command, key);
        return await command.ExecuteScalarAsync(cancellationToken) switch
        {
            1L => AlarmRecord.Stored,
            2L => AlarmRecord.Purged,
            _ => AlarmRecord.Unknown,
        };
    }

    /// <summary>
    /// Deletes alarms received before <paramref name="before"/> that wait for nothing (no outbox row),
    /// first raising each device's purged counter to the highest of them, in one transaction.
    /// </summary>
    public async Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TEMP TABLE IF NOT EXISTS expired (device_id INTEGER NOT NULL, counter INTEGER NOT NULL);
            DELETE FROM temp.expired;
            INSERT INTO temp.expired SELECT a.device_id, a.counter FROM alarms a
            WHERE a.received_at < $before AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.device_id = a.device_id AND o.counter = a.counter);
            UPDATE devices SET purged_counter = max(purged_counter, (SELECT max(counter) FROM temp.expired e WHERE e.device_id = devices.id))
            WHERE id IN (SELECT device_id FROM temp.expired);
            DELETE FROM alarms WHERE (device_id, counter) IN (SELECT device_id, counter FROM temp.expired);
            SELECT changes();
            """;
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        int purged = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken);
        return purged;
    }

    /// <summary>
    /// In one transaction: stores the alarm, queues it for upstream (not status events such as a doorbell
    /// ring, qualifier 6, which stay at the gateway: they are not calls for help), raises the device's replay floor
    /// and takes the downlink counter for its ack. Returns that counter once the commit is durable.
    /// A <paramref name="test"/> alarm (installer's walk test) is stored and forwarded marked as such,
    /// and makes a newly claimed device active.
    /// </summary>
    /// <remarks>
    /// <paramref name="forward"/>, when given, gets the new outbox row while the transaction still holds the write lock:
    /// the alarm goes upstream without waiting for this commit's fsync (the device's ack still waits for it), and the
    /// cloud's receipt, a write, cannot run before the row it drops exists. It returns when the row's resend falls due,
    /// or null to leave the row due now for the outbox worker.
    /// </remarks>
    public async Task<uint> AcceptAsync(
        Frame frame, byte[] frameBytes, DateTimeOffset receivedAt, bool test, string? traceParent,
        Func<OutboxItem, DateTimeOffset?>? forward, CancellationToken cancellationToken)
    {
        var key = new AlarmKey(frame.DeviceId, frame.Counter);
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using (SqliteCommand insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO alarms (device_id, counter, event_code, qualifier, zone, frame, received_at, stage, test, traceparent)
                VALUES ($device, $counter, $code, $qualifier, $zone, $frame, $at, $stage, $test, $traceparent);
                INSERT INTO outbox (device_id, counter, next_attempt_at) SELECT $device, $counter, $at WHERE $qualifier <> 6;
                UPDATE devices SET highest_counter = max(highest_counter, $counter), last_seen = max(coalesce(last_seen, 0), $at)
                WHERE id = $device;
                UPDATE devices SET state = 'active' WHERE id = $device AND state = 'claimed' AND $test = 1;
                """;
            AddKey(insert, key);
            insert.Parameters.AddWithValue("$test", test ? 1 : 0);
            insert.Parameters.AddWithValue("$traceparent", (object?)traceParent ?? DBNull.Value);
            insert.Parameters.AddWithValue("$code", (int)frame.EventCode);
            insert.Parameters.AddWithValue("$qualifier", (int)frame.Qualifier);
            insert.Parameters.AddWithValue("$zone", (int)frame.Zone);
            insert.Parameters.AddWithValue("$frame", frameBytes);
            insert.Parameters.AddWithValue("$at", receivedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$stage", (int)AckStage.Received);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (forward is not null && frame.Qualifier != 6 &&
            (await ReadOutboxAsync(connection, transaction, "o.device_id = $device AND o.counter = $counter", c => AddKey(c, key), cancellationToken)) is [OutboxItem row] &&
            forward(row) is DateTimeOffset resendAt)
        {
            await using SqliteCommand sent = connection.CreateCommand();
            sent.Transaction = transaction;
            sent.CommandText = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $next WHERE seq = $seq;";
            sent.Parameters.AddWithValue("$next", resendAt.ToUnixTimeMilliseconds());
            sent.Parameters.AddWithValue("$seq", row.Sequence);
            await sent.ExecuteNonQueryAsync(cancellationToken);
        }

        uint downlink = await TakeDownlinkCounterAsync(connection, transaction, frame.DeviceId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return downlink;
    }

    /// <summary>Takes and persists the next downlink counter, so a restart never reuses one.</summary>
    public async Task<uint> TakeDownlinkCounterAsync(uint deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        uint downlink = await TakeDownlinkCounterAsync(connection, transaction, deviceId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return downlink;
    }

    /// <summary>
    /// Records an operator stage for a stored alarm (never moving it backwards) and takes the
    /// downlink counter for the ack that carries it; null when the alarm is unknown.
    /// </summary>
    public async Task<uint?> RecordStageAsync(AlarmKey key, AckStage stage, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using (SqliteCommand update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE alarms SET stage = max(stage, $stage) WHERE device_id = $device AND counter = $counter;";
            AddKey(update, key);
            update.Parameters.AddWithValue("$stage", (int)stage);
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null;
            }
        }

        uint downlink = await TakeDownlinkCounterAsync(connection, transaction, key.DeviceId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return downlink;
    }

    /// <summary>The cloud has the alarm: drops its outbox row. False when the alarm is unknown.</summary>
    public async Task<bool> RecordReceiptAsync(AlarmKey key, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE alarms SET receipted_at = coalesce(receipted_at, $at) WHERE device_id = $device AND counter = $counter;
            DELETE FROM outbox WHERE device_id = $device AND counter = $counter;
            """;
        AddKey(command, key);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());

        // The affected-row count sums both statements: zero means neither an alarm nor a row.
        int changed = await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return changed > 0;
    }

    /// <summary>Outbox rows due at <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<OutboxItem>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        return await ReadOutboxAsync(
            connection,
            transaction: null,
            "o.next_attempt_at <= $now ORDER BY o.seq LIMIT $limit",
            command =>
            {
                command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$limit", limit);
            },
            cancellationToken);
    }

    private static async Task<List<OutboxItem>> ReadOutboxAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string condition, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT o.seq, o.device_id, o.counter, a.event_code, a.qualifier, a.zone, a.frame, a.received_at, o.attempts,
                   coalesce(d.profile, 'unknown'), coalesce(d.site_kind, 'unknown'), coalesce(d.site_lat, 0),
                   coalesce(d.site_lon, 0), coalesce(d.site_address, ''), a.test, a.traceparent
            FROM outbox o
            JOIN alarms a ON a.device_id = o.device_id AND a.counter = o.counter
            LEFT JOIN devices d ON d.id = o.device_id
            WHERE
            """ + " " + condition + ";";
        bind(command);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<OutboxItem>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new OutboxItem(
                reader.GetInt64(0),
                new AlarmKey((uint)reader.GetInt64(1), (uint)reader.GetInt64(2)),
                (ushort)reader.GetInt32(3),
                (byte)reader.GetInt32(4),
                (ushort)reader.GetInt32(5),
                (byte[])reader[6],
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                reader.GetInt32(8),
                reader.GetString(9),
                new SiteInfo(reader.GetString(10), reader.GetDouble(11), reader.GetDouble(12), reader.GetString(13)),
                reader.GetInt64(14) != 0,
                reader.IsDBNull(15) ? null : reader.GetString(15)));
        }

        return items;
    }

    /// <summary>Counts a successful publish and schedules the resend; a no-op when a receipt removed the row meanwhile.</summary>
    public async Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE outbox SET attempts = $attempts, next_attempt_at = $next WHERE seq = $seq;";
        command.Parameters.AddWithValue("$attempts", attempts);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seq", sequence);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Makes every row due now (after a reconnect the broker may have lost what was in flight).</summary>
    public async Task MakeAllDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE outbox SET next_attempt_at = $now WHERE next_attempt_at > $now;";
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>When the earliest outbox row falls due; null when the outbox is empty.</summary>
    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT min(next_attempt_at) FROM outbox;";
        object? value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>
    /// New events received since <paramref name="since"/> that no operator has acknowledged yet, by event code, with
    /// when the newest of each arrived.
    /// </summary>
    public async Task<IReadOnlyList<(int Code, DateTimeOffset Newest)>> GetUnacknowledgedAlarmsAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT event_code, max(received_at) FROM alarms
            WHERE stage < $acknowledged AND qualifier = $new AND test = 0 AND received_at >= $since
            GROUP BY event_code;
            """;
        command.Parameters.AddWithValue("$acknowledged", (int)AckStage.OperatorAcknowledged);
        command.Parameters.AddWithValue("$new", (int)ContactIdQualifier.NewEvent);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var open = new List<(int, DateTimeOffset)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            open.Add((reader.GetInt32(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }

        return open;
    }

    public async Task<int> CountOutboxAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM outbox;";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Synchronous count for metric gauges, which are read inside a synchronous callback.</summary>
    public int CountOutbox()
    {
        using SqliteConnection connection = database.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM outbox;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<uint> TakeDownlinkCounterAsync(SqliteConnection connection, SqliteTransaction transaction, uint deviceId, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE devices SET downlink_counter = downlink_counter + 1 WHERE id = $device RETURNING downlink_counter;";
        command.Parameters.AddWithValue("$device", (long)deviceId);
        object? value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long counter ? (uint)counter : throw new InvalidOperationException("device " + DeviceIdText.Format(deviceId) + " is not registered");
    }

    private static void AddKey(SqliteCommand command, AlarmKey key)
    {
        command.Parameters.AddWithValue("$device", (long)key.DeviceId);
        command.Parameters.AddWithValue("$counter", (long)key.Counter);
    }
}
