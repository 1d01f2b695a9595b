using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Alarms;
using System.Data.Common;
using System.Globalization;
using Anshimi.CloudBridge.Storage;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

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
/// The per-upstream delivery outbox, in the alarm file: one row per (alarm, upstream), written in
/// the transaction that stores the alarm (see <see cref="UpstreamOutboxHook"/>), settled when the
/// upstream confirms or rejects it. A pending row is leased to one bridge instance (<see cref="NextPendingAsync"/>), so
/// two instances sharing the database never both send it. Also keeps each DC-09 link's sequence series, so a
/// repetition after a restart carries the number the receiver saw first.
/// </summary>
public sealed class UpstreamDeliveryStore
{
    /// <summary>
    /// How long a delivery stays with the instance that took it without that instance looking at it again. After a crash
    /// another instance takes it once the dead one's liveness row runs out (<c>InstanceLease</c>, seconds), or once this
    /// lease does for an instance without one; the restarted one takes it back at once.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    // Base of the per-upstream lock that keeps a link's sequence series one series across instances.
    private const long SequenceLockBase = 0x616e_7368_0000_0000;

    private readonly StoreDatabase _database;
    private readonly TimeProvider _time;

    private readonly string _owner;

    /// <param name="instance">This bridge instance's stable name (its MQTT client id), the owner of its leases.</param>
    public UpstreamDeliveryStore(AlarmStore alarms, TimeProvider time, string instance)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        ArgumentException.ThrowIfNullOrWhiteSpace(instance);
        _database = alarms.Database;
        _time = time;
        _owner = instance;
    }

    /// <summary>Queues <paramref name="key"/> for each upstream on the caller's connection (and so its transaction).</summary>
    internal static async Task QueueAsync(DbConnection connection, string key, IReadOnlyList<string> upstreams, CancellationToken cancellationToken)
    {
        foreach (string name in upstreams)
        {
            await ExecuteAsync(connection, """
                INSERT INTO upstream_deliveries (alarm_key, upstream, alarm_seq, state, attempts)
                VALUES (@key, @upstream, (SELECT seq FROM alarms WHERE key = @key), 'pending', 0)
                ON CONFLICT (alarm_key, upstream) DO NOTHING;
                """, cancellationToken, ("key", key), ("upstream", name));
        }
    }

    /// <summary>
    /// The oldest pending delivery to <paramref name="upstream"/> that is not in <paramref name="held"/> and that no other
    /// instance holds, now leased to this one for <see cref="Lease"/> (renewed each time this instance takes it again,
    /// e.g. between retries); null when none. A delivery leased to an instance whose liveness row has run out
    /// (<c>InstanceLease</c>) is no longer held.
    /// </summary>
    public Task<PendingDelivery?> NextPendingAsync(string upstream, IReadOnlySet<string> held, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _database.WriteAsync(async (connection, ct) =>
        {
            // Held alarms are passed over, so one more candidate than are held always reaches a sendable one if any.
            await using DbCommand candidates = Command(connection, $"""
                SELECT alarm_key, attempts FROM upstream_deliveries
                WHERE upstream = @upstream AND state = 'pending'
                  AND (lease_until_ms IS NULL OR lease_until_ms <= @now OR lease_owner = @owner
                       OR EXISTS (SELECT 1 FROM bridge_instances i WHERE i.instance = upstream_deliveries.lease_owner AND i.alive_until_ms <= @now))
                ORDER BY alarm_seq LIMIT @limit{_database.Dialect.ForUpdateSkipLocked};
                """, ("upstream", upstream), ("now", now), ("owner", _owner), ("limit", held.Count + 1));
            List<PendingDelivery> rows = await ReadAllAsync(candidates, r => new PendingDelivery(r.GetString(0), upstream, r.GetInt32(1)), ct);
            PendingDelivery? next = rows.FirstOrDefault(row => !held.Contains(row.AlarmKey));
            if (next is null)
            {
                return null;
            }

            await ExecuteAsync(connection, """
                UPDATE upstream_deliveries SET lease_owner = @owner, lease_until_ms = @until
                WHERE alarm_key = @key AND upstream = @upstream;
                """, ct, ("owner", _owner), ("until", now + (long)Lease.TotalMilliseconds), ("key", next.AlarmKey), ("upstream", upstream));
            return next;
        }, cancellationToken);
    }

    /// <summary>Hands every pending delivery this instance holds back to any instance (on stop).</summary>
    public Task ReleaseLeasesAsync(CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, ct) => ExecuteAsync(connection, """
            UPDATE upstream_deliveries SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = @owner AND state = 'pending';
            """, ct, ("owner", _owner)), cancellationToken);

    public Task RecordFailureAsync(string key, string upstream, string error, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE upstream_deliveries SET attempts = attempts + 1, last_error = @detail WHERE alarm_key = @key AND upstream = @upstream AND state = 'pending';",
            key, upstream, error, null, cancellationToken);

    public Task SettleAsync(string key, string upstream, string state, string detail, DateTimeOffset at, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE upstream_deliveries SET attempts = attempts + 1, state = @state, last_error = @detail, settled_at = @at, lease_owner = NULL, lease_until_ms = NULL
            WHERE alarm_key = @key AND upstream = @upstream AND state = 'pending';
            """, key, upstream, detail, (state, at), cancellationToken);

    /// <summary>
    /// The DC-09 sequence number of this delivery: the one it was given first, or the next of the
    /// link's series (0001–9999, round again), stored before the first transmission.
    /// </summary>
    public Task<int> WireSequenceAsync(string key, string upstream, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, ct) =>
        {
            // One instance at a time per link, so two deliveries never draw the same number.
            await _database.Dialect.SerialiseAsync(connection, SequenceLockBase | (uint)StableHash(upstream), ct);
            await using DbCommand select = Command(connection, "SELECT wire_sequence FROM upstream_deliveries WHERE alarm_key = @key AND upstream = @upstream;",
                ("key", key), ("upstream", upstream));
            if (await ScalarInt64Async(select, ct) is long known)
            {
                return (int)known;
            }

            await using DbCommand last = Command(connection, "SELECT last_sequence FROM upstream_sequences WHERE upstream = @upstream;", ("upstream", upstream));
            int next = Dc09Sender.NextSequence(await ScalarInt64Async(last, ct) is long previous ? (int)previous : 0);
            await ExecuteAsync(connection, """
                INSERT INTO upstream_sequences (upstream, last_sequence) VALUES (@upstream, @next)
                ON CONFLICT (upstream) DO UPDATE SET last_sequence = excluded.last_sequence;
                """, ct, ("upstream", upstream), ("next", next));
            await ExecuteAsync(connection, "UPDATE upstream_deliveries SET wire_sequence = @next WHERE alarm_key = @key AND upstream = @upstream;", ct,
                ("next", next), ("key", key), ("upstream", upstream));
            return next;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, UpstreamCounts>> CountsAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyDictionary<string, UpstreamCounts>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT upstream,
                       SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END)
                FROM upstream_deliveries GROUP BY upstream;
                """);
            var counts = new Dictionary<string, UpstreamCounts>(StringComparer.Ordinal);
            await using DbDataReader reader = await query.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                counts[reader.GetString(0)] = new UpstreamCounts(
                    Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                    Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
            }

            return counts;
        }, cancellationToken);

    /// <summary>The oldest pending deliveries of <paramref name="upstream"/> that have failed at least once, with their reasons.</summary>
    public Task<IReadOnlyList<WaitingDelivery>> WaitingAsync(string upstream, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<WaitingDelivery>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT alarm_key, attempts, last_error FROM upstream_deliveries
                WHERE upstream = @upstream AND state = 'pending' AND attempts > 0 ORDER BY alarm_seq LIMIT @limit;
                """, ("upstream", upstream), ("limit", limit));
            return await ReadAllAsync(query, r => new WaitingDelivery(r.GetString(0), r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2)), ct);
        }, cancellationToken);

    /// <summary>One delivery row, for tests and diagnostics: state, attempts and last error.</summary>
    public Task<(string State, int Attempts, string? LastError)?> FindAsync(string key, string upstream, CancellationToken cancellationToken) =>
        _database.ReadAsync<(string State, int Attempts, string? LastError)?>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT state, attempts, last_error FROM upstream_deliveries WHERE alarm_key = @key AND upstream = @upstream;",
                ("key", key), ("upstream", upstream));
            await using DbDataReader reader = await query.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? (reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2))
                : null;
        }, cancellationToken);

    // string.GetHashCode differs per process; the lock must be the same number in every instance.
    private static int StableHash(string text)
    {
        unchecked
        {
            int hash = (int)2166136261;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }

    private Task UpdateAsync(string sql, string key, string upstream, string detail, (string State, DateTimeOffset At)? settle, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, ct) =>
        {
            // Receivers' texts can be long or odd; the row keeps a bounded excerpt.
            var parameters = new List<(string, object?)> { ("key", key), ("upstream", upstream), ("detail", detail.Length > 500 ? detail[..500] : detail) };
            if (settle is { } s)
            {
                parameters.Add(("state", s.State));
                parameters.Add(("at", Text(s.At)));
            }

            return ExecuteAsync(connection, sql, ct, [.. parameters]);
        }, cancellationToken);
}

/// <summary>Queues a new alarm for every configured upstream inside the alarm's own storing transaction, then wakes the dispatcher.</summary>
public sealed class UpstreamOutboxHook(IReadOnlyList<string> upstreams, UpstreamWake wake) : IAlarmStoreHook
{
    public Task OnNewAlarmAsync(DbConnection connection, string key, CancellationToken cancellationToken) =>
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
