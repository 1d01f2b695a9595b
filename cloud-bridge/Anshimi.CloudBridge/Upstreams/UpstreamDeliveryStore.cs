using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// A delivery is pending until the upstream confirms it; nothing an upstream answers settles it otherwise (an alarm
/// it cannot take stays pending with the reason). Only the retention purge of the alarm itself ends one unsent.
/// </summary>
public static class DeliveryState
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";

    /// <summary>The alarm was purged by retention before it could go out.</summary>
    public const string Purged = "purged";
}

/// <summary>A delivery still owed to an upstream, oldest alarm first.</summary>
public sealed record PendingDelivery(string AlarmKey, string Upstream, int Attempts);

public sealed record UpstreamCounts(long Pending, long Delivered);

/// <summary>A pending delivery that has failed at least once, and why (the upstream's last answer).</summary>
public sealed record WaitingDelivery(string AlarmKey, int Attempts, string? Reason);

/// <summary>
/// The per-upstream delivery outbox, in the alarm database: one row per (alarm, upstream), written in
/// the transaction that stores the alarm (see <see cref="UpstreamOutboxHook"/>), settled when the
/// upstream confirms or rejects it. Also keeps each DC-09 link's sequence series, so a repetition after
/// a restart carries the number the receiver saw first.
/// </summary>
public sealed class UpstreamDeliveryStore
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS upstream_deliveries (
            alarm_key TEXT NOT NULL REFERENCES alarms(key) ON DELETE CASCADE,
            upstream TEXT NOT NULL,
            alarm_seq INTEGER NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            wire_sequence INTEGER,
            last_error TEXT,
            settled_at TEXT,
            PRIMARY KEY (alarm_key, upstream));
        CREATE INDEX IF NOT EXISTS upstream_deliveries_pending ON upstream_deliveries(upstream, alarm_seq) WHERE state = 'pending';
        CREATE TABLE IF NOT EXISTS upstream_sequences (
            upstream TEXT PRIMARY KEY,
            last_sequence INTEGER NOT NULL);
        UPDATE upstream_deliveries SET state = 'pending', settled_at = NULL WHERE state = 'rejected';
        """;

    private readonly SqliteFile _database;

    public UpstreamDeliveryStore(AlarmStore alarms)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        _database = alarms.Database;
    }

    /// <summary>Queues <paramref name="key"/> for each upstream on the caller's connection (and so its transaction).</summary>
    internal static async Task QueueAsync(SqliteConnection connection, string key, IReadOnlyList<string> upstreams, CancellationToken cancellationToken)
    {
        using SqliteCommand insert = Command(connection, """
            INSERT OR IGNORE INTO upstream_deliveries (alarm_key, upstream, alarm_seq, state, attempts)
            VALUES ($key, $upstream, (SELECT seq FROM alarms WHERE key = $key), 'pending', 0);
            """);
        insert.Parameters.AddWithValue("$key", key);
        SqliteParameter upstream = insert.Parameters.Add("$upstream", SqliteType.Text);
        foreach (string name in upstreams)
        {
            upstream.Value = name;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The oldest pending delivery whose alarm is not in <paramref name="held"/>.</summary>
    public async Task<PendingDelivery?> NextPendingAsync(string upstream, IReadOnlySet<string> held, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT alarm_key, attempts FROM upstream_deliveries
            WHERE upstream = $upstream AND state = 'pending' ORDER BY alarm_seq LIMIT $limit;
            """);
        query.Parameters.AddWithValue("$upstream", upstream);
        query.Parameters.AddWithValue("$limit", held.Count + 1);
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!held.Contains(reader.GetString(0)))
            {
                return new PendingDelivery(reader.GetString(0), upstream, reader.GetInt32(1));
            }
        }

        return null;
    }

    public Task RecordFailureAsync(string key, string upstream, string error, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE upstream_deliveries SET attempts = attempts + 1, last_error = $detail WHERE alarm_key = $key AND upstream = $upstream AND state = 'pending';",
            key, upstream, error, null, cancellationToken);

    public Task SettleAsync(string key, string upstream, string state, string detail, DateTimeOffset at, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE upstream_deliveries SET attempts = attempts + 1, state = $state, last_error = $detail, settled_at = $at WHERE alarm_key = $key AND upstream = $upstream AND state = 'pending';",
            key, upstream, detail, (state, at), cancellationToken);

    /// <summary>
    /// The DC-09 sequence number of this delivery: the one it was given first, or the next of the
    /// link's series (0001–9999, round again), stored before the first transmission.
    /// </summary>
    public async Task<int> WireSequenceAsync(string key, string upstream, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand select = Command(connection, "SELECT wire_sequence FROM upstream_deliveries WHERE alarm_key = $key AND upstream = $upstream;");
        select.Parameters.AddWithValue("$key", key);
        select.Parameters.AddWithValue("$upstream", upstream);
        if (await select.ExecuteScalarAsync(cancellationToken) is long known)
        {
            return (int)known;
        }

        using SqliteCommand last = Command(connection, "SELECT last_sequence FROM upstream_sequences WHERE upstream = $upstream;");
        last.Parameters.AddWithValue("$upstream", upstream);
        int next = Dc09Sender.NextSequence(await last.ExecuteScalarAsync(cancellationToken) is long previous ? (int)previous : 0);

        using SqliteCommand save = Command(connection, """
            INSERT INTO upstream_sequences (upstream, last_sequence) VALUES ($upstream, $next)
            ON CONFLICT (upstream) DO UPDATE SET last_sequence = excluded.last_sequence;
            UPDATE upstream_deliveries SET wire_sequence = $next WHERE alarm_key = $key AND upstream = $upstream;
            """);
        save.Parameters.AddWithValue("$upstream", upstream);
        save.Parameters.AddWithValue("$next", next);
        save.Parameters.AddWithValue("$key", key);
        await save.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    public async Task<IReadOnlyDictionary<string, UpstreamCounts>> CountsAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT upstream, SUM(state = 'pending'), SUM(state = 'delivered')
            FROM upstream_deliveries GROUP BY upstream;
            """);
        var counts = new Dictionary<string, UpstreamCounts>(StringComparer.Ordinal);
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = new UpstreamCounts(reader.GetInt64(1), reader.GetInt64(2));
        }

        return counts;
    }

    /// <summary>The oldest pending deliveries of <paramref name="upstream"/> that have failed at least once, with their reasons.</summary>
    public async Task<IReadOnlyList<WaitingDelivery>> WaitingAsync(string upstream, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT alarm_key, attempts, last_error FROM upstream_deliveries
            WHERE upstream = $upstream AND state = 'pending' AND attempts > 0 ORDER BY alarm_seq LIMIT $limit;
            """);
        query.Parameters.AddWithValue("$upstream", upstream);
        query.Parameters.AddWithValue("$limit", limit);
        var waiting = new List<WaitingDelivery>();
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            waiting.Add(new WaitingDelivery(reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return waiting;
    }

    /// <summary>One delivery row, for tests and diagnostics: state, attempts and last error.</summary>
    public async Task<(string State, int Attempts, string? LastError)?> FindAsync(string key, string upstream, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT state, attempts, last_error FROM upstream_deliveries WHERE alarm_key = $key AND upstream = $upstream;");
        query.Parameters.AddWithValue("$key", key);
        query.Parameters.AddWithValue("$upstream", upstream);
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2))
            : null;
    }

    private async Task UpdateAsync(string sql, string key, string upstream, string detail, (string State, DateTimeOffset At)? settle, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, sql);
        update.Parameters.AddWithValue("$key", key);
        update.Parameters.AddWithValue("$upstream", upstream);

        // Receivers' texts can be long or odd; the row keeps a bounded excerpt.
        update.Parameters.AddWithValue("$detail", detail.Length > 500 ? detail[..500] : detail);
        if (settle is { } s)
        {
            update.Parameters.AddWithValue("$state", s.State);
            update.Parameters.AddWithValue("$at", Text(s.At));
        }

        await update.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Queues a new alarm for every configured upstream inside the alarm's own storing transaction, then wakes the dispatcher.</summary>
public sealed class UpstreamOutboxHook(IReadOnlyList<string> upstreams, UpstreamWake wake) : IAlarmStoreHook
{
    public string Schema => UpstreamDeliveryStore.Schema;

    public Task OnNewAlarmAsync(SqliteConnection connection, string key, CancellationToken cancellationToken) =>
        upstreams.Count == 0 ? Task.CompletedTask : UpstreamDeliveryStore.QueueAsync(connection, key, upstreams, cancellationToken);

    public void AlarmCommitted(string key) => wake.Signal();
}

/// <summary>Wakes every upstream's delivery loop when new work was committed.</summary>
public sealed class UpstreamWake
{
    private readonly Lock _sync = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task that completes at the next <see cref="Signal"/>.</summary>
    public Task NextAsync()
    {
        lock (_sync)
        {
            return _next.Task;
        }
    }

    public void Signal()
    {
        TaskCompletionSource fired;
        lock (_sync)
        {
            fired = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        fired.TrySetResult();
    }
}
