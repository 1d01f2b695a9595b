using System.Diagnostics;
using System.Globalization;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>Which alarms a retention purge removes, each with its own period (<c>RetentionOptions</c>).</summary>
public enum AlarmRetention
{
    Resolved,
    Unresolved,
    Test,
}

/// <summary>
/// The cloud's durable alarm record (SQLite, WAL, synchronous=FULL): alarms keyed by their end-to-end
/// idempotency key, their timelines, the operator-ack outbox and gateway liveness. A write has
/// reached the disk when its method returns, so a receipt sent after it never outruns the data.
/// </summary>
public sealed class AlarmStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS alarms (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            device_id TEXT NOT NULL,
            counter INTEGER NOT NULL,
            gateway_id TEXT NOT NULL,
            event_code INTEGER NOT NULL,
            qualifier INTEGER NOT NULL,
            zone INTEGER NOT NULL,
            profile TEXT NOT NULL,
            site_kind TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            address TEXT NOT NULL,
            test INTEGER NOT NULL,
            district_code TEXT NOT NULL,
            frame TEXT NOT NULL,
            state TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            received_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS timeline (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alarm_key TEXT NOT NULL REFERENCES alarms(key),
            stage TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT);
        CREATE INDEX IF NOT EXISTS timeline_by_alarm ON timeline(alarm_key, id);
        CREATE TABLE IF NOT EXISTS ack_outbox (
            alarm_key TEXT NOT NULL REFERENCES alarms(key),
            stage TEXT NOT NULL,
            gateway_id TEXT NOT NULL,
            operator TEXT NOT NULL,
            at TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_ms INTEGER NOT NULL,
            relayed_at TEXT,
            PRIMARY KEY (alarm_key, stage));
        CREATE INDEX IF NOT EXISTS ack_outbox_due ON ack_outbox(next_attempt_ms) WHERE relayed_at IS NULL;
        CREATE TABLE IF NOT EXISTS gateways (
            gateway_id TEXT PRIMARY KEY,
            last_seen_at TEXT NOT NULL,
            outbox_depth INTEGER NOT NULL);
        """;

    private const string AlarmColumns = """
        key, device_id, counter, gateway_id, event_code, qualifier, zone, profile, site_kind, lat, lon,
        address, test, district_code, frame, state, raised_at, received_at
        """;

    private readonly IAlarmStoreHook[] _hooks;

    public AlarmStore(string dataDirectory, IEnumerable<IAlarmStoreHook>? hooks = null)
    {
        _hooks = hooks?.ToArray() ?? [];
        Database = new SqliteFile(
            dataDirectory, "alarms.db", SqliteSynchronous.Full, foreignKeys: true, [Schema, .. _hooks.Select(hook => hook.Schema)]);
    }

    public string DatabasePath => Database.DatabasePath;

    /// <summary>The alarm file, for stores that keep their tables beside the alarms (and share its pragmas).</summary>
    internal SqliteFile Database { get; }

    /// <summary>Stores the alarm unless its key is already stored; true when it was new.</summary>
    public async Task<bool> StoreAlarmAsync(
        AlarmEnvelope alarm, string key, string districtCode, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        using Activity? span = CloudBridgeTelemetry.Source.StartActivity("alarm.store");
        await using SqliteConnection connection = Database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand insert = Command(connection, $"""
            INSERT OR IGNORE INTO alarms ({AlarmColumns})
            VALUES ($key, $device, $counter, $gateway, $code, $qualifier, $zone, $profile, $kind, $lat, $lon,
                    $address, $test, $district, $frame, $state, $raised, $received);
            """);
        insert.Parameters.AddWithValue("$key", key);
        insert.Parameters.AddWithValue("$device", alarm.DeviceId);
        insert.Parameters.AddWithValue("$counter", (long)alarm.Counter);
        insert.Parameters.AddWithValue("$gateway", alarm.GatewayId);
        insert.Parameters.AddWithValue("$code", alarm.Event.Code);
        insert.Parameters.AddWithValue("$qualifier", alarm.Event.Qualifier);
        insert.Parameters.AddWithValue("$zone", alarm.Event.Zone);
        insert.Parameters.AddWithValue("$profile", alarm.Profile);
        insert.Parameters.AddWithValue("$kind", alarm.Site.Kind);
        insert.Parameters.AddWithValue("$lat", alarm.Site.Latitude);
        insert.Parameters.AddWithValue("$lon", alarm.Site.Longitude);
        insert.Parameters.AddWithValue("$address", alarm.Site.Address);
        insert.Parameters.AddWithValue("$test", alarm.Test ? 1 : 0);
        insert.Parameters.AddWithValue("$district", districtCode);
        insert.Parameters.AddWithValue("$frame", alarm.FrameHex);
        insert.Parameters.AddWithValue("$state", alarm.Test ? AlarmState.Test : AlarmState.Open);
        insert.Parameters.AddWithValue("$raised", Text(alarm.ReceivedAt));
        insert.Parameters.AddWithValue("$received", Text(receivedAt));
        bool isNew = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (isNew)
        {
            await AddTimelineAsync(connection, key, TimelineStage.Raised, alarm.ReceivedAt, null, cancellationToken);
            await AddTimelineAsync(connection, key, TimelineStage.Received, receivedAt, null, cancellationToken);
            foreach (IAlarmStoreHook hook in _hooks)
            {
                await hook.OnNewAlarmAsync(connection, key, cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        if (isNew)
        {
            foreach (IAlarmStoreHook hook in _hooks)
            {
                hook.AlarmCommitted(key);
            }
        }

        return isNew;
    }

    public async Task RecordHeartbeatAsync(string gatewayId, DateTimeOffset at, int outboxDepth, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand upsert = Command(connection, """
            INSERT INTO gateways (gateway_id, last_seen_at, outbox_depth) VALUES ($gateway, $at, $depth)
            ON CONFLICT (gateway_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, outbox_depth = excluded.outbox_depth;
            """);
        upsert.Parameters.AddWithValue("$gateway", gatewayId);
        upsert.Parameters.AddWithValue("$at", Text(at));
        upsert.Parameters.AddWithValue("$depth", outboxDepth);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Moves the alarm to <paramref name="stage"/> and queues the acknowledgement for its gateway in
    /// the same transaction, so an acknowledged alarm always has an ack on its way to the bell.
    /// </summary>
    public Task<OperatorActionResult> ApplyOperatorActionAsync(
        string key, string stage, string operatorName, DateTimeOffset at, CancellationToken cancellationToken) =>
        ApplyOperatorActionAsync(key, stage, operatorName, at, recordApplied: null, cancellationToken);

    /// <summary>
    /// As above; when the action is applied, <paramref name="recordApplied"/> writes on the same connection before the
    /// commit (the audit entry), so the action, its outbox row and that record commit together or not at all.
    /// </summary>
    public async Task<OperatorActionResult> ApplyOperatorActionAsync(
        string key, string stage, string operatorName, DateTimeOffset at,
        Func<SqliteConnection, CancellationToken, Task>? recordApplied, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        OperatorActionOutcome outcome;
        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            outcome = await ApplyAsync(connection, key, stage, operatorName, at, cancellationToken);
            if (outcome == OperatorActionOutcome.Applied && recordApplied is not null)
            {
                await recordApplied(connection, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        AlarmRecord? alarm = outcome == OperatorActionOutcome.NotFound ? null : await FindAsync(connection, key, cancellationToken);
        return new OperatorActionResult(outcome, alarm);
    }

    public async Task<IReadOnlyList<PendingAck>> GetDueAcksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT alarm_key, stage, gateway_id, operator, at, attempts FROM ack_outbox
            WHERE relayed_at IS NULL AND next_attempt_ms <= $now
            ORDER BY next_attempt_ms, rowid LIMIT $limit;
            """);
        query.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        query.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(
            query, r => new PendingAck(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetString(4)), r.GetInt32(5)), cancellationToken);
    }

    /// <summary>When the next unrelayed acknowledgement is due, or null when none waits.</summary>
    public async Task<DateTimeOffset?> NextAckDueAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, "SELECT MIN(next_attempt_ms) FROM ack_outbox WHERE relayed_at IS NULL;");
        object? result = await query.ExecuteScalarAsync(cancellationToken);
        return result is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public async Task RecordAckAttemptAsync(string key, string stage, int attempts, DateTimeOffset nextAttempt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand update = Command(connection, """
            UPDATE ack_outbox SET attempts = $attempts, next_attempt_ms = $next
            WHERE alarm_key = $key AND stage = $stage AND relayed_at IS NULL;
            """);
        update.Parameters.AddWithValue("$attempts", attempts);
        update.Parameters.AddWithValue("$next", nextAttempt.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$key", key);
        update.Parameters.AddWithValue("$stage", stage);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Stops re-sending: the gateway has relayed <paramref name="stage"/> to the device. A relayed
    /// "resolved" also settles a still-pending "acknowledged". True when this was news.
    /// </summary>
    public async Task<bool> MarkAckRelayedAsync(string key, string stage, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand update = Command(connection, """
            UPDATE ack_outbox SET relayed_at = $at WHERE alarm_key = $key AND stage = $stage AND relayed_at IS NULL;
            """);
        update.Parameters.AddWithValue("$at", Text(at));
        update.Parameters.AddWithValue("$key", key);
        update.Parameters.AddWithValue("$stage", stage);
        bool isNew = await update.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (stage == AlarmState.Resolved)
        {
            update.Parameters["$stage"].Value = AlarmState.Acknowledged;
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        if (isNew)
        {
            await AddTimelineAsync(connection, key, TimelineStage.RelayedOf(stage), at, null, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return isNew;
    }

    /// <summary>Newest first (by cloud arrival), every alarm.</summary>
    public Task<IReadOnlyList<AlarmRecord>> ListAsync(int limit, CancellationToken cancellationToken) =>
        ListAsync(limit, AlarmFilter.Everything, cancellationToken);

    /// <summary>Newest first (by cloud arrival), filtered in SQL so other districts' alarms never leave the store.</summary>
    public async Task<IReadOnlyList<AlarmRecord>> ListAsync(int limit, AlarmFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, "");
        var conditions = new List<string>();
        if (!filter.IncludeBoth)
        {
            conditions.Add("test = $test");
            query.Parameters.AddWithValue("$test", filter.Test ? 1 : 0);
        }

        if (filter.Districts is not null)
        {
            if (filter.Districts.Count == 0)
            {
                return [];
            }

            var names = new List<string>();
            foreach (string district in filter.Districts)
            {
                string name = "$d" + names.Count.ToString(CultureInfo.InvariantCulture);
                names.Add(name);
                query.Parameters.AddWithValue(name, district);
            }

            conditions.Add("district_code IN (" + string.Join(", ", names) + ")");
        }

        string where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        query.CommandText = $"SELECT {AlarmColumns} FROM alarms {where} ORDER BY seq DESC LIMIT $limit;";
        query.Parameters.AddWithValue("$limit", limit);
        List<AlarmRecord> rows = await ReadAllAsync(query, r => ReadAlarm(r, []), cancellationToken);
        if (rows.Count == 0)
        {
            return rows;
        }

        using SqliteCommand timelines = Command(connection, $"""
            SELECT alarm_key, stage, at, actor FROM timeline
            WHERE alarm_key IN (SELECT key FROM alarms {where} ORDER BY seq DESC LIMIT $limit) ORDER BY id;
            """);
        foreach (SqliteParameter parameter in query.Parameters)
        {
            timelines.Parameters.AddWithValue(parameter.ParameterName, parameter.Value);
        }

        var byKey = new Dictionary<string, List<TimelineEntry>>(StringComparer.Ordinal);
        await using (SqliteDataReader reader = await timelines.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                string key = reader.GetString(0);
                if (!byKey.TryGetValue(key, out List<TimelineEntry>? entries))
                {
                    byKey[key] = entries = [];
                }

                entries.Add(ReadTimeline(reader, 1));
            }
        }

        return rows.Select(r => r with { Timeline = byKey.GetValueOrDefault(r.Key) ?? [] }).ToList();
    }

    /// <summary>
    /// Retention: deletes alarms of one <paramref name="kind"/> whose period started before <paramref name="cutoff"/>,
    /// with their timelines, ack rows and (by cascade) upstream deliveries. Returns how many alarms went.
    /// </summary>
    public async Task<int> PurgeBeforeAsync(AlarmRetention kind, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        // Resolved: counted from resolution. Test: from arrival. Never resolved (open, acknowledged, dispatched): from arrival.
        string selection = kind switch
        {
            AlarmRetention.Resolved => """
                a.state = 'resolved' AND EXISTS (SELECT 1 FROM timeline t WHERE t.alarm_key = a.key AND t.stage = 'resolved' AND t.at < $cutoff)
                """,
            AlarmRetention.Test => "a.state = 'test' AND a.received_at < $cutoff",
            AlarmRetention.Unresolved => "a.state IN ('open', 'acknowledged', 'dispatched') AND a.received_at < $cutoff",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await using SqliteConnection connection = Database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand purge = Command(connection, $"""
            CREATE TEMP TABLE IF NOT EXISTS purge_keys (key TEXT PRIMARY KEY);
            DELETE FROM purge_keys;
            INSERT INTO purge_keys SELECT a.key FROM alarms a WHERE {selection};
            DELETE FROM ack_outbox WHERE alarm_key IN (SELECT key FROM purge_keys);
            DELETE FROM timeline WHERE alarm_key IN (SELECT key FROM purge_keys);
            DELETE FROM alarms WHERE key IN (SELECT key FROM purge_keys);
            """);
        purge.Parameters.AddWithValue("$cutoff", Text(cutoff));
        await purge.ExecuteNonQueryAsync(cancellationToken);
        using SqliteCommand count = Command(connection, "SELECT COUNT(*) FROM purge_keys;");
        int removed = (int)(long)(await count.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    /// <summary>The newest open (not resolved, not test) alarm of each device in <paramref name="districts"/> (null: all).</summary>
    public async Task<IReadOnlyDictionary<string, string>> OpenAlarmKeysByDeviceAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT device_id, key, district_code FROM alarms WHERE state IN ('open', 'acknowledged', 'dispatched') ORDER BY seq;
            """);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (districts is null || districts.Contains(reader.GetString(2)))
            {
                keys[reader.GetString(0)] = reader.GetString(1);
            }
        }

        return keys;
    }

    public async Task<AlarmRecord?> FindAsync(string key, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        return await FindAsync(connection, key, cancellationToken);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, "SELECT COUNT(*) FROM alarms;");
        return (long)(await query.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<GatewayRecord>> ListGatewaysAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Database.Open();
        using SqliteCommand query = Command(connection, "SELECT gateway_id, last_seen_at, outbox_depth FROM gateways ORDER BY gateway_id;");
        return await ReadAllAsync(query, r => new GatewayRecord(r.GetString(0), Time(r.GetString(1)), r.GetInt32(2)), cancellationToken);
    }

    private static async Task<OperatorActionOutcome> ApplyAsync(
        SqliteConnection connection, string key, string stage, string operatorName, DateTimeOffset at, CancellationToken cancellationToken)
    {
        using SqliteCommand select = Command(connection, "SELECT state, gateway_id FROM alarms WHERE key = $key;");
        select.Parameters.AddWithValue("$key", key);
        string state;
        string gatewayId;
        await using (SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return OperatorActionOutcome.NotFound;
            }

            state = reader.GetString(0);
            gatewayId = reader.GetString(1);
        }

        // A walk-test alarm is closed from the start: nobody dispatches help to an installer's test.
        if (state is AlarmState.Resolved or AlarmState.Test)
        {
            return OperatorActionOutcome.AlreadyResolved;
        }

        if (AlarmState.Rank(state) >= AlarmState.Rank(stage))
        {
            return OperatorActionOutcome.Unchanged;
        }

        using SqliteCommand update = Command(connection, "UPDATE alarms SET state = $state WHERE key = $key;");
        update.Parameters.AddWithValue("$state", stage);
        update.Parameters.AddWithValue("$key", key);
        await update.ExecuteNonQueryAsync(cancellationToken);
        await AddTimelineAsync(connection, key, stage, at, operatorName, cancellationToken);

        using SqliteCommand outbox = Command(connection, """
            INSERT OR IGNORE INTO ack_outbox (alarm_key, stage, gateway_id, operator, at, attempts, next_attempt_ms)
            VALUES ($key, $stage, $gateway, $operator, $at, 0, $now);
            """);
        outbox.Parameters.AddWithValue("$key", key);
        outbox.Parameters.AddWithValue("$stage", AlarmState.DeviceStageOf(stage));
        outbox.Parameters.AddWithValue("$gateway", gatewayId);
        outbox.Parameters.AddWithValue("$operator", operatorName);
        outbox.Parameters.AddWithValue("$at", Text(at));
        outbox.Parameters.AddWithValue("$now", at.ToUnixTimeMilliseconds());
        await outbox.ExecuteNonQueryAsync(cancellationToken);
        return OperatorActionOutcome.Applied;
    }

    private static async Task<AlarmRecord?> FindAsync(SqliteConnection connection, string key, CancellationToken cancellationToken)
    {
        using SqliteCommand query = Command(connection, $"SELECT {AlarmColumns} FROM alarms WHERE key = $key;");
        query.Parameters.AddWithValue("$key", key);
        AlarmRecord alarm;
        await using (SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            alarm = ReadAlarm(reader, []);
        }

        using SqliteCommand timeline = Command(connection, "SELECT stage, at, actor FROM timeline WHERE alarm_key = $key ORDER BY id;");
        timeline.Parameters.AddWithValue("$key", key);
        return alarm with { Timeline = await ReadAllAsync(timeline, r => ReadTimeline(r, 0), cancellationToken) };
    }

    private static async Task AddTimelineAsync(
        SqliteConnection connection, string key, string stage, DateTimeOffset at, string? actor, CancellationToken cancellationToken)
    {
        using SqliteCommand insert = Command(connection, "INSERT INTO timeline (alarm_key, stage, at, actor) VALUES ($key, $stage, $at, $actor);");
        insert.Parameters.AddWithValue("$key", key);
        insert.Parameters.AddWithValue("$stage", stage);
        insert.Parameters.AddWithValue("$at", Text(at));
        insert.Parameters.AddWithValue("$actor", (object?)actor ?? DBNull.Value);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static AlarmRecord ReadAlarm(SqliteDataReader r, IReadOnlyList<TimelineEntry> timeline) => new(
        Key: r.GetString(0),
        DeviceId: r.GetString(1),
        Counter: (uint)r.GetInt64(2),
        GatewayId: r.GetString(3),
        EventCode: r.GetInt32(4),
        Qualifier: r.GetInt32(5),
        Zone: r.GetInt32(6),
        Profile: r.GetString(7),
        SiteKind: r.GetString(8),
        Latitude: r.GetDouble(9),
        Longitude: r.GetDouble(10),
        Address: r.GetString(11),
        Test: r.GetInt64(12) != 0,
        DistrictCode: r.GetString(13),
        FrameHex: r.GetString(14),
        State: r.GetString(15),
        RaisedAt: Time(r.GetString(16)),
        ReceivedAt: Time(r.GetString(17)),
        Timeline: timeline);

    private static TimelineEntry ReadTimeline(SqliteDataReader r, int first) =>
        new(r.GetString(first), Time(r.GetString(first + 1)), r.IsDBNull(first + 2) ? null : r.GetString(first + 2));
}
