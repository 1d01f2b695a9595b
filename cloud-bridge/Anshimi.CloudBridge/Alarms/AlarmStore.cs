using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

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
/// The cloud's durable alarm record (the alarm file: SQLite with WAL and synchronous=FULL, or PostgreSQL): alarms
/// keyed by their end-to-end idempotency key, their timelines, the operator-ack outbox and gateway liveness. A write
/// has been committed when its method returns, so a receipt sent after it never outruns the data. Several bridge
/// instances may share one PostgreSQL database: a key is stored once whoever stores it, and each outbox row is
/// claimed by one instance at a time.
/// </summary>
public sealed class AlarmStore
{
    private const string AlarmColumns = """
        key, device_id, counter, gateway_id, event_code, qualifier, zone, profile, site_kind, lat, lon,
        address, test, district_code, frame, state, raised_at, received_at, neighbourhood_code
        """;

    // Keys per DELETE during a retention purge: far below either engine's limit on parameters.
    private const int PurgeBatch = 500;

    private readonly IAlarmStoreHook[] _hooks;

    public AlarmStore(StoreDatabase database, IEnumerable<IAlarmStoreHook>? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
        _hooks = hooks?.ToArray() ?? [];
    }

    /// <summary>The embedded default: <c>alarms.db</c> in <paramref name="dataDirectory"/>.</summary>
    public AlarmStore(string dataDirectory, IEnumerable<IAlarmStoreHook>? hooks = null)
        : this(StoreDatabase.Open(new StorageOptions(), dataDirectory, StoreFile.Alarms), hooks)
    {
    }

    /// <summary>The SQLite file's path, or the PostgreSQL hosts and database.</summary>
    public string DatabasePath => Database.Description;

    /// <summary>The alarm file, for stores that keep their tables beside the alarms and share its transactions.</summary>
    internal StoreDatabase Database { get; }

    /// <summary>Stores the alarm unless its key is already stored; true when it was new.</summary>
    public async Task<bool> StoreAlarmAsync(
        AlarmEnvelope alarm, string key, SiteArea area, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        (await StoreAlarmsAsync([new NewAlarm(alarm, key, area)], receivedAt, announce: null, cancellationToken))[0] is not null;

    /// <summary>
    /// Stores each alarm whose key is not stored yet, in the order given, all in one transaction (one fsync for a burst):
    /// when this returns every one of them is durable, and when it throws none is. For each alarm, the record as stored
    /// when it was new, or null when its key was already stored (a key twice in <paramref name="alarms"/> is new once).
    /// </summary>
    /// <remarks>
    /// <paramref name="announce"/>, when given, gets each new alarm (its index in <paramref name="alarms"/> and its record)
    /// once all of them are inserted in the open transaction, before its commit is written: whoever is
    /// told must be ready to hear that the call then threw, and none of them stored. Each alarm is announced at most once,
    /// also when a transient fault runs the transaction again.
    /// </remarks>
    public async Task<IReadOnlyList<AlarmRecord?>> StoreAlarmsAsync(
        IReadOnlyList<NewAlarm> alarms, DateTimeOffset receivedAt, Action<int, AlarmRecord>? announce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        using Activity? span = CloudBridgeTelemetry.Source.StartActivity("alarm.store");
        span?.SetTag("anshimi.alarm.burst", alarms.Count);
        // What an earlier attempt of this call inserted: when a commit's answer is lost (the connection dropped after
        // the server committed), the retried transaction finds those keys stored, and they are still this call's new
        // alarms — taken for repeats, they would never reach the console.
        var insertedBefore = new AlarmRecord?[alarms.Count];
        var announced = new bool[alarms.Count];
        AlarmRecord?[] stored = await Database.WriteAsync(async (connection, ct) =>
        {
            // Built anew on every attempt: a retried transaction starts from nothing.
            var records = new AlarmRecord?[alarms.Count];
            for (int i = 0; i < alarms.Count; i++)
            {
                records[i] = await InsertAsync(connection, alarms[i], receivedAt, ct) ?? insertedBefore[i];
                insertedBefore[i] = records[i];
            }

            for (int i = 0; i < alarms.Count; i++)
            {
                if (announce is not null && records[i] is { } record && !announced[i])
                {
                    announced[i] = true;
                    announce(i, record);
                }
            }

            return records;
        }, cancellationToken);
        foreach (AlarmRecord? record in stored)
        {
            if (record is null)
            {
                continue;
            }

            foreach (IAlarmStoreHook hook in _hooks)
            {
                hook.AlarmCommitted(record.Key);
            }
        }

        return stored;
    }

    public Task RecordHeartbeatAsync(string gatewayId, DateTimeOffset at, int outboxDepth, CancellationToken cancellationToken) =>
        Database.WriteAsync((connection, ct) => ExecuteAsync(connection, """
            INSERT INTO gateways (gateway_id, last_seen_at, outbox_depth) VALUES (@gateway, @at, @depth)
            ON CONFLICT (gateway_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, outbox_depth = excluded.outbox_depth;
            """, ct, ("gateway", gatewayId), ("at", Text(at)), ("depth", outboxDepth)), cancellationToken);

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
        Func<DbConnection, CancellationToken, Task>? recordApplied, CancellationToken cancellationToken)
    {
        OperatorActionOutcome outcome = await Database.WriteAsync(async (connection, ct) =>
        {
            OperatorActionOutcome applied = await ApplyAsync(connection, key, stage, operatorName, at, ct);
            if (applied != OperatorActionOutcome.Applied)
            {
                return applied;
            }

            if (recordApplied is not null)
            {
                await recordApplied(connection, ct);
            }

            foreach (IAlarmStoreHook hook in _hooks)
            {
                await hook.OnAlarmChangedAsync(connection, key, ct);
            }

            return applied;
        }, cancellationToken);
        AlarmRecord? alarm = outcome == OperatorActionOutcome.NotFound ? null : await FindAsync(key, cancellationToken);
        return new OperatorActionResult(outcome, alarm);
    }

    /// <summary>
    /// Claims for <paramref name="instance"/> (a bridge instance's stable name) the unrelayed acknowledgements due by
    /// <paramref name="dueBy"/> that no other instance holds, until <paramref name="now"/> + <paramref name="hold"/> (or until
    /// <see cref="RecordAckAttemptAsync"/>), so another instance does not send them too. A restarted instance takes its own
    /// claims back at once; those of an instance that died are taken when its liveness row runs out (<c>InstanceLease</c>),
    /// or when the claim does if it never had one.
    /// </summary>
    public Task<IReadOnlyList<PendingAck>> ClaimDueAcksAsync(
        string instance, DateTimeOffset dueBy, DateTimeOffset now, TimeSpan hold, int limit, CancellationToken cancellationToken) =>
        Database.WriteAsync<IReadOnlyList<PendingAck>>(async (connection, ct) =>
        {
            await using DbCommand claim = Command(connection, $"""
                UPDATE ack_outbox SET lease_owner = @owner, lease_until_ms = @until
                WHERE (alarm_key, stage) IN (
                    SELECT o.alarm_key, o.stage FROM ack_outbox o
                    WHERE o.relayed_at IS NULL AND o.next_attempt_ms <= @due
                      AND (o.lease_until_ms IS NULL OR o.lease_until_ms <= @now OR o.lease_owner = @owner
                           OR EXISTS (SELECT 1 FROM bridge_instances i WHERE i.instance = o.lease_owner AND i.alive_until_ms <= @now))
                    ORDER BY o.next_attempt_ms, o.alarm_key, o.stage LIMIT @limit{Database.Dialect.ForUpdateSkipLocked})
                RETURNING alarm_key, stage, gateway_id, operator, at, attempts, next_attempt_ms;
                """,
                ("owner", instance), ("until", (now + hold).ToUnixTimeMilliseconds()), ("due", dueBy.ToUnixTimeMilliseconds()),
                ("now", now.ToUnixTimeMilliseconds()), ("limit", limit));
            List<(PendingAck Ack, long Due)> rows = await ReadAllAsync(
                claim, r => (new PendingAck(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetString(4)), r.GetInt32(5)), r.GetInt64(6)), ct);
            return rows.OrderBy(r => r.Due).ThenBy(r => r.Ack.Key, StringComparer.Ordinal).ThenBy(r => r.Ack.Stage, StringComparer.Ordinal).Select(r => r.Ack).ToList();
        }, cancellationToken);

    /// <summary>
    /// The alarms whose timeline gained an entry with an id above <paramref name="sinceTimelineId"/>, each with whether
    /// it arrived in that span (it is new to whoever last looked then).
    /// </summary>
    public Task<IReadOnlyList<(string Key, bool Received)>> ChangedSinceAsync(long sinceTimelineId, CancellationToken cancellationToken) =>
        Database.ReadAsync<IReadOnlyList<(string Key, bool Received)>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT alarm_key, MAX(CASE WHEN stage = @received THEN 1 ELSE 0 END) FROM timeline
                WHERE id > @since GROUP BY alarm_key ORDER BY MIN(id);
                """, ("received", TimelineStage.Received), ("since", sinceTimelineId));
            return await ReadAllAsync(query, r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture) == 1), ct);
        }, cancellationToken);

    /// <summary>
    /// When the next unrelayed acknowledgement is due, or null when none waits. A row another instance holds is due when
    /// its claim or that instance's liveness row runs out, whichever is first, so an outbox does not spin on a row it
    /// cannot take and still takes a dead instance's rows within seconds.
    /// </summary>
    public Task<DateTimeOffset?> NextAckDueAsync(CancellationToken cancellationToken) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT MIN(CASE
                    WHEN o.lease_until_ms IS NULL OR o.lease_until_ms <= o.next_attempt_ms THEN o.next_attempt_ms
                    WHEN i.alive_until_ms < o.lease_until_ms
                        THEN CASE WHEN i.alive_until_ms > o.next_attempt_ms THEN i.alive_until_ms ELSE o.next_attempt_ms END
                    ELSE o.lease_until_ms END)
                FROM ack_outbox o LEFT JOIN bridge_instances i ON i.instance = o.lease_owner WHERE o.relayed_at IS NULL;
                """);
            return await ScalarInt64Async(query, ct) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        }, cancellationToken);

    /// <summary>Records a send of a claimed acknowledgement and releases the claim: it is due again at <paramref name="nextAttempt"/>.</summary>
    public Task RecordAckAttemptAsync(string key, string stage, int attempts, DateTimeOffset nextAttempt, CancellationToken cancellationToken) =>
        Database.WriteAsync((connection, ct) => ExecuteAsync(connection, """
            UPDATE ack_outbox SET attempts = @attempts, next_attempt_ms = @next, lease_owner = NULL, lease_until_ms = NULL
            WHERE alarm_key = @key AND stage = @stage AND relayed_at IS NULL;
            """, ct, ("attempts", attempts), ("next", nextAttempt.ToUnixTimeMilliseconds()), ("key", key), ("stage", stage)), cancellationToken);

    /// <summary>
    /// Stops re-sending: the gateway has relayed <paramref name="stage"/> to the device. A relayed
    /// "resolved" also settles a still-pending "acknowledged". True when this was news.
    /// </summary>
    public Task<bool> MarkAckRelayedAsync(string key, string stage, DateTimeOffset at, CancellationToken cancellationToken) =>
        Database.WriteAsync(async (connection, ct) =>
        {
            const string Relay = "UPDATE ack_outbox SET relayed_at = @at WHERE alarm_key = @key AND stage = @stage AND relayed_at IS NULL;";
            bool isNew = await ExecuteAsync(connection, Relay, ct, ("at", Text(at)), ("key", key), ("stage", stage)) == 1;
            if (stage == AlarmState.Resolved)
            {
                await ExecuteAsync(connection, Relay, ct, ("at", Text(at)), ("key", key), ("stage", AlarmState.Acknowledged));
            }

            if (isNew)
            {
                await AddTimelineAsync(connection, key, TimelineStage.RelayedOf(stage), at, null, ct);
            }

            return isNew;
        }, cancellationToken);

    /// <summary>Newest first (by cloud arrival), every alarm.</summary>
    public Task<IReadOnlyList<AlarmRecord>> ListAsync(int limit, CancellationToken cancellationToken) =>
        ListAsync(limit, AlarmFilter.Everything, cancellationToken);

    /// <summary>Newest first (by cloud arrival), filtered in SQL so other districts' alarms never leave the store.</summary>
    public async Task<IReadOnlyList<AlarmRecord>> ListAsync(int limit, AlarmFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Districts is { Count: 0 })
        {
            return [];
        }

        var conditions = new List<string>();
        var parameters = new List<(string Name, object? Value)> { ("limit", limit) };
        if (!filter.IncludeBoth)
        {
            conditions.Add("test = @test");
            parameters.Add(("test", filter.Test ? 1 : 0));
        }

        if (filter.Districts is not null)
        {
            var names = new List<string>();
            foreach (string district in filter.Districts)
            {
                string name = "d" + names.Count.ToString(CultureInfo.InvariantCulture);
                names.Add("@" + name);
                parameters.Add((name, district));
            }

            conditions.Add("district_code IN (" + string.Join(", ", names) + ")");
        }

        if (filter.Neighbourhood is not null)
        {
            conditions.Add("neighbourhood_code = @neighbourhood");
            parameters.Add(("neighbourhood", filter.Neighbourhood));
        }

        string where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        return await Database.ReadAsync<IReadOnlyList<AlarmRecord>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {AlarmColumns} FROM alarms {where} ORDER BY seq DESC LIMIT @limit;", [.. parameters]);
            List<AlarmRecord> rows = await ReadAllAsync(query, r => ReadAlarm(r, []), ct);
            if (rows.Count == 0)
            {
                return rows;
            }

            await using DbCommand timelines = Command(connection, $"""
                SELECT alarm_key, stage, at, actor FROM timeline
                WHERE alarm_key IN (SELECT key FROM alarms {where} ORDER BY seq DESC LIMIT @limit) ORDER BY id;
                """, [.. parameters]);
            var byKey = new Dictionary<string, List<TimelineEntry>>(StringComparer.Ordinal);
            await using (DbDataReader reader = await timelines.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
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
        }, cancellationToken);
    }

    /// <summary>
    /// Retention: deletes alarms of one <paramref name="kind"/> whose period started before <paramref name="cutoff"/>,
    /// with their timelines, ack rows and (by cascade) upstream deliveries. Returns how many alarms went.
    /// </summary>
    public Task<int> PurgeBeforeAsync(AlarmRetention kind, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        // Resolved: counted from resolution. Test: from arrival. Never resolved (open, acknowledged, dispatched): from arrival.
        string selection = kind switch
        {
            AlarmRetention.Resolved => """
                a.state = 'resolved' AND EXISTS (SELECT 1 FROM timeline t WHERE t.alarm_key = a.key AND t.stage = 'resolved' AND t.at < @cutoff)
                """,
            AlarmRetention.Test => "a.state = 'test' AND a.received_at < @cutoff",
            AlarmRetention.Unresolved => "a.state IN ('open', 'acknowledged', 'dispatched') AND a.received_at < @cutoff",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return Database.WriteAsync(async (connection, ct) =>
        {
            // The keys are chosen first: deleting the timeline changes which alarms the resolved selection finds.
            await using DbCommand select = Command(connection, $"SELECT a.key FROM alarms a WHERE {selection}{Database.Dialect.ForUpdate};", ("cutoff", Text(cutoff)));
            List<string> keys = await ReadAllAsync(select, r => r.GetString(0), ct);
            foreach (string[] batch in keys.Chunk(PurgeBatch))
            {
                string names = string.Join(", ", batch.Select((_, i) => "@k" + i.ToString(CultureInfo.InvariantCulture)));
                (string, object?)[] parameters = batch.Select((k, i) => ("k" + i.ToString(CultureInfo.InvariantCulture), (object?)k)).ToArray();
                foreach (string table in new[] { "ack_outbox", "alarm_claims", "timeline" })
                {
                    await ExecuteAsync(connection, $"DELETE FROM {table} WHERE alarm_key IN ({names});", ct, parameters);
                }

                await ExecuteAsync(connection, $"DELETE FROM alarms WHERE key IN ({names});", ct, parameters);
            }

            return keys.Count;
        }, cancellationToken);
    }

    /// <summary>The newest open (not resolved, not test) alarm of each device in <paramref name="districts"/> (null: all).</summary>
    public Task<IReadOnlyDictionary<string, string>> OpenAlarmKeysByDeviceAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken) =>
        Database.ReadAsync<IReadOnlyDictionary<string, string>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT device_id, key, district_code FROM alarms WHERE state IN ('open', 'acknowledged', 'dispatched') ORDER BY seq;
                """);
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            await using DbDataReader reader = await query.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (districts is null || districts.Contains(reader.GetString(2)))
                {
                    keys[reader.GetString(0)] = reader.GetString(1);
                }
            }

            return keys;
        }, cancellationToken);

    /// <summary>
    /// Keeps a second claim for a stored key that differs from the stored alarm (another frame, or test where it was real
    /// or the reverse) beside it, and flags the alarm with a <see cref="TimelineStage.ConflictingClaim"/> timeline entry.
    /// </summary>
    public Task RecordConflictingClaimAsync(string key, string gatewayId, bool test, string frameHex, DateTimeOffset at, CancellationToken cancellationToken) =>
        Database.WriteAsync(async (connection, ct) =>
        {
            await ExecuteAsync(connection, "INSERT INTO alarm_claims (alarm_key, gateway_id, test, frame, received_at) VALUES (@key, @gateway, @test, @frame, @at);",
                ct, ("key", key), ("gateway", gatewayId), ("test", test ? 1 : 0), ("frame", frameHex), ("at", Text(at)));
            await AddTimelineAsync(connection, key, TimelineStage.ConflictingClaim, at, "gateway:" + gatewayId, ct);
        }, cancellationToken);

    /// <summary>How many conflicting claims are kept for <paramref name="key"/>.</summary>
    public Task<long> CountConflictingClaimsAsync(string key, CancellationToken cancellationToken) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT COUNT(*) FROM alarm_claims WHERE alarm_key = @key;", ("key", key));
            return (await ScalarInt64Async(query, ct))!.Value;
        }, cancellationToken);

    public Task<AlarmRecord?> FindAsync(string key, CancellationToken cancellationToken) =>
        Database.ReadAsync((connection, ct) => FindAsync(connection, key, ct), cancellationToken);

    public Task<long> CountAsync(CancellationToken cancellationToken) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT COUNT(*) FROM alarms;");
            return (await ScalarInt64Async(query, ct))!.Value;
        }, cancellationToken);

    /// <summary>Whether the store's database answers now, in one attempt (<see cref="StoreDatabase.ProbeAsync"/>).</summary>
    public Task ProbeAsync(CancellationToken cancellationToken) => Database.ProbeAsync(cancellationToken);

    public Task<IReadOnlyList<GatewayRecord>> ListGatewaysAsync(CancellationToken cancellationToken) =>
        Database.ReadAsync<IReadOnlyList<GatewayRecord>>(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT gateway_id, last_seen_at, outbox_depth FROM gateways ORDER BY gateway_id;");
            return await ReadAllAsync(query, r => new GatewayRecord(r.GetString(0), Time(r.GetString(1)), r.GetInt32(2)), ct);
        }, cancellationToken);

    private async Task<OperatorActionOutcome> ApplyAsync(
        DbConnection connection, string key, string stage, string operatorName, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Locked, so two instances acting on one alarm at once take turns and the second sees the first's state.
        await using DbCommand select = Command(connection, $"SELECT state, gateway_id FROM alarms WHERE key = @key{Database.Dialect.ForUpdate};", ("key", key));
        string state;
        string gatewayId;
        await using (DbDataReader reader = await select.ExecuteReaderAsync(cancellationToken))
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

        await ExecuteAsync(connection, "UPDATE alarms SET state = @state WHERE key = @key;", cancellationToken, ("state", stage), ("key", key));
        await AddTimelineAsync(connection, key, stage, at, operatorName, cancellationToken);
        await ExecuteAsync(connection, """
            INSERT INTO ack_outbox (alarm_key, stage, gateway_id, operator, at, attempts, next_attempt_ms)
            VALUES (@key, @stage, @gateway, @operator, @at, 0, @now)
            ON CONFLICT (alarm_key, stage) DO NOTHING;
            """, cancellationToken,
            ("key", key), ("stage", AlarmState.DeviceStageOf(stage)), ("gateway", gatewayId), ("operator", operatorName),
            ("at", Text(at)), ("now", at.ToUnixTimeMilliseconds()));
        return OperatorActionOutcome.Applied;
    }

    /// <summary>Inserts one alarm with its first two timeline entries and its hooks' rows; the record, or null when the key was stored.</summary>
    private async Task<AlarmRecord?> InsertAsync(DbConnection connection, NewAlarm added, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        (AlarmEnvelope alarm, string key, SiteArea area) = added;
        string state = alarm.Test ? AlarmState.Test : AlarmState.Open;
        int inserted = await ExecuteAsync(connection, $"""
            INSERT INTO alarms ({AlarmColumns})
            VALUES (@key, @device, @counter, @gateway, @code, @qualifier, @zone, @profile, @kind, @lat, @lon,
                    @address, @test, @district, @frame, @state, @raised, @received, @neighbourhood)
            ON CONFLICT (key) DO NOTHING;
            """, cancellationToken,
            ("key", key), ("device", alarm.DeviceId), ("counter", (long)alarm.Counter), ("gateway", alarm.GatewayId),
            ("code", alarm.Event.Code), ("qualifier", alarm.Event.Qualifier), ("zone", alarm.Event.Zone), ("profile", alarm.Profile),
            ("kind", alarm.Site.Kind), ("lat", alarm.Site.Latitude), ("lon", alarm.Site.Longitude), ("address", alarm.Site.Address),
            ("test", alarm.Test ? 1 : 0), ("district", area.DistrictCode), ("neighbourhood", area.NeighbourhoodCode), ("frame", alarm.FrameHex),
            ("state", state), ("raised", Text(alarm.ReceivedAt)), ("received", Text(receivedAt)));
        if (inserted != 1)
        {
            return null;
        }

        await AddTimelineAsync(connection, key, TimelineStage.Raised, alarm.ReceivedAt, null, cancellationToken);
        await AddTimelineAsync(connection, key, TimelineStage.Received, receivedAt, null, cancellationToken);
        foreach (IAlarmStoreHook hook in _hooks)
        {
            await hook.OnNewAlarmAsync(connection, key, cancellationToken);
        }

        // What was just written, as a read would give it back (times as stored: UTC), so the console needs no read.
        DateTimeOffset raisedAt = Time(Text(alarm.ReceivedAt));
        DateTimeOffset storedAt = Time(Text(receivedAt));
        return new AlarmRecord(
            key, alarm.DeviceId, alarm.Counter, alarm.GatewayId, alarm.Event.Code, alarm.Event.Qualifier, alarm.Event.Zone, alarm.Profile,
            alarm.Site.Kind, alarm.Site.Latitude, alarm.Site.Longitude, alarm.Site.Address, alarm.Test, area.DistrictCode, alarm.FrameHex,
            state, raisedAt, storedAt, [new TimelineEntry(TimelineStage.Raised, raisedAt, null), new TimelineEntry(TimelineStage.Received, storedAt, null)])
        {
            NeighbourhoodCode = area.NeighbourhoodCode,
        };
    }

    private static async Task<AlarmRecord?> FindAsync(DbConnection connection, string key, CancellationToken cancellationToken)
    {
        await using DbCommand query = Command(connection, $"SELECT {AlarmColumns} FROM alarms WHERE key = @key;", ("key", key));
        AlarmRecord? alarm = await ReadFirstAsync(query, r => ReadAlarm(r, []), cancellationToken);
        if (alarm is null)
        {
            return null;
        }

        await using DbCommand timeline = Command(connection, "SELECT stage, at, actor FROM timeline WHERE alarm_key = @key ORDER BY id;", ("key", key));
        return alarm with { Timeline = await ReadAllAsync(timeline, r => ReadTimeline(r, 0), cancellationToken) };
    }

    private static Task AddTimelineAsync(
        DbConnection connection, string key, string stage, DateTimeOffset at, string? actor, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, "INSERT INTO timeline (alarm_key, stage, at, actor) VALUES (@key, @stage, @at, @actor);",
            cancellationToken, ("key", key), ("stage", stage), ("at", Text(at)), ("actor", actor));

    private static AlarmRecord ReadAlarm(DbDataReader r, IReadOnlyList<TimelineEntry> timeline) => new(
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
        Test: r.GetInt32(12) != 0,
        DistrictCode: r.GetString(13),
        FrameHex: r.GetString(14),
        State: r.GetString(15),
        RaisedAt: Time(r.GetString(16)),
        ReceivedAt: Time(r.GetString(17)),
        Timeline: timeline)
    {
        NeighbourhoodCode = r.IsDBNull(18) ? null : r.GetString(18),
    };

    private static TimelineEntry ReadTimeline(DbDataReader r, int first) =>
        new(r.GetString(first), Time(r.GetString(first + 1)), r.IsDBNull(first + 2) ? null : r.GetString(first + 2));
}

/// <summary>An alarm to store: the envelope as the cloud records it, its idempotency key and where it is.</summary>
public sealed record NewAlarm(AlarmEnvelope Alarm, string Key, SiteArea Area);
