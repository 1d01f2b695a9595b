using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Anshimi.CloudBridge.Storage;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>Life of a return-home monitoring session.</summary>
public static class EscortState
{
    public const string Active = "active";
    public const string Arrived = "arrived";
    public const string Cancelled = "cancelled";
    public const string TimedOut = "timed-out";
}

public sealed record EscortSessionRecord(
    uint SessionId,
    string Client,
    string State,
    GeoPoint Origin,
    GeoPoint Destination,
    IReadOnlyList<GeoPoint>? Route,
    DateTimeOffset StartedAt,
    DateTimeOffset LastSeenAt,
    GeoPoint LastPosition,
    DateTimeOffset? EndedAt,
    long Version = 0,
    WalkRecord? Walk = null);

/// <summary>
/// A walk's row as a location update found it: its version once the update is in, the planner's state as the last update
/// left it, and the route unless the caller's copy of the walk was already at the version before (<see cref="RouteIncluded"/>).
/// </summary>
public sealed record WalkRow(long Version, WalkRecord? Walk, bool RouteIncluded, IReadOnlyList<GeoPoint>? Route);

public sealed record LocationFix(double Latitude, double Longitude, DateTimeOffset At);

public sealed record EmergencyRecord(
    long Sequence,
    string Client,
    string IdempotencyKey,
    string RequestHash,
    string AlarmKey,
    GeoPoint Location,
    string DistrictCode,
    IReadOnlyList<string> Lights,
    DateTimeOffset ReportedAt,
    DateTimeOffset? ReleasedAt);

/// <summary>
/// Escort sessions, their location traces and emergency reports (store file <see cref="StoreFile.Escorts"/>). On SQLite,
/// traces are written with <c>synchronous=NORMAL</c>: they are evidence, not alarms, and a power cut may lose the last
/// second of them; an emergency report, which opens an alarm, is written with FULL. Each trace row has
/// <c>recorded_at</c> for the retention purge. Any bridge instance on the database may take a session's updates: the
/// session row holds the planner's state of the walk (<c>walk</c>) and a version, and each update holds the row while it
/// moves the walk on (<see cref="AdvanceWalkAsync"/>), so two updates of one walk on two instances run one after the other.
/// </summary>
public sealed class EscortStore(StoreDatabase database)
{
    private const string SessionColumns = """
        session_id, client, state, origin_lat, origin_lon, destination_lat, destination_lon, route,
        started_at, last_seen_at, last_lat, last_lon, ended_at, version, walk
        """;

    private const string EmergencyColumns = """
        seq, client, idempotency_key, request_hash, alarm_key, lat, lon, district_code, lights, reported_at, released_at
        """;

    /// <summary>Stores a new active session; false when the id is taken.</summary>
    public Task<bool> TryStartAsync(EscortSessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return database.WriteAsync(async (connection, ct) => await ExecuteAsync(connection, $"""
            INSERT INTO escort_sessions ({SessionColumns})
            VALUES (@id, @client, @state, @olat, @olon, @dlat, @dlon, @route, @started, @seen, @lat, @lon, NULL, @version, @walk)
            ON CONFLICT (session_id) DO NOTHING;
            """, ct,
            ("id", Id(session.SessionId)),
            ("client", session.Client),
            ("state", session.State),
            ("olat", session.Origin.Latitude),
            ("olon", session.Origin.Longitude),
            ("dlat", session.Destination.Latitude),
            ("dlon", session.Destination.Longitude),
            ("route", session.Route is null ? null : JsonSerializer.Serialize(session.Route.Select(p => new[] { p.Latitude, p.Longitude }))),
            ("started", Text(session.StartedAt)),
            ("seen", Text(session.LastSeenAt)),
            ("lat", session.LastPosition.Latitude),
            ("lon", session.LastPosition.Longitude),
            ("version", session.Version),
            ("walk", session.Walk is null ? null : JsonSerializer.Serialize(session.Walk))) == 1, cancellationToken);
    }

    /// <summary>
    /// Records location fixes (oldest first) of <paramref name="client"/>'s active session and moves its walk on, in one
    /// transaction that holds the session's row from the start: a second update of the walk, on any bridge instance, waits
    /// until this one has committed, and then finds the walk as this one left it. <paramref name="advance"/> gets the row
    /// (the route only when <paramref name="knownVersion"/>, the version the caller's copy of the walk matches, is not the one
    /// before) and returns the walk after the fixes. Null when the client has no active session with this id.
    /// </summary>
    public Task<long?> AdvanceWalkAsync(
        uint sessionId, string client, IReadOnlyList<LocationFix> fixes, DateTimeOffset recordedAt, long knownVersion,
        Func<WalkRow, WalkRecord> advance, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fixes);
        ArgumentNullException.ThrowIfNull(advance);
        return database.WriteAsync<long?>(async (connection, ct) =>
        {
            LocationFix last = fixes[^1];
            WalkRow? row;
            await using (DbCommand take = Command(connection, """
                UPDATE escort_sessions SET version = version + 1, last_seen_at = @seen, last_lat = @lat, last_lon = @lon
                WHERE session_id = @id AND client = @client AND state = 'active'
                RETURNING version, walk, CASE WHEN version - 1 = @known THEN 0 ELSE 1 END, CASE WHEN version - 1 = @known THEN NULL ELSE route END;
                """, ("seen", Text(recordedAt)), ("lat", last.Latitude), ("lon", last.Longitude), ("id", Id(sessionId)), ("client", client), ("known", knownVersion)))
            {
                row = await ReadFirstAsync(take, r =>
                {
                    bool routeIncluded = Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture) == 1;
                    return new WalkRow(
                        Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
                        routeIncluded ? ReadWalk(r, 1) : null,
                        routeIncluded,
                        ReadRoute(r, 3));
                }, ct);
            }

            if (row is null)
            {
                return null;
            }

            await AppendLocationsAsync(connection, sessionId, fixes, recordedAt, ct);
            WalkRecord walk = advance(row);
            await ExecuteAsync(connection, "UPDATE escort_sessions SET walk = @walk WHERE session_id = @id;", ct,
                ("walk", JsonSerializer.Serialize(walk)), ("id", Id(sessionId)));
            return row.Version;
        }, cancellationToken);
    }

    /// <summary>Appends location fixes to the trace and moves the session's last position, in one transaction.</summary>
    public Task RecordLocationsAsync(uint sessionId, IReadOnlyList<LocationFix> fixes, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fixes);
        return database.WriteAsync(async (connection, ct) =>
        {
            await AppendLocationsAsync(connection, sessionId, fixes, recordedAt, ct);
            LocationFix last = fixes[^1];
            await ExecuteAsync(connection, """
                UPDATE escort_sessions SET last_seen_at = @seen, last_lat = @lat, last_lon = @lon WHERE session_id = @id AND state = 'active';
                """, ct, ("seen", Text(recordedAt)), ("lat", last.Latitude), ("lon", last.Longitude), ("id", Id(sessionId)));
        }, cancellationToken);
    }

    /// <summary>Ends, as timed-out, every active session last heard before <paramref name="cutoff"/>; returns the ones this call ended.</summary>
    public Task<IReadOnlyList<uint>> EndSilentAsync(DateTimeOffset cutoff, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync<IReadOnlyList<uint>>(async (connection, ct) =>
        {
            await using DbCommand end = Command(connection, """
                UPDATE escort_sessions SET state = @state, ended_at = @at WHERE state = 'active' AND last_seen_at <= @cutoff RETURNING session_id;
                """, ("state", EscortState.TimedOut), ("at", Text(at)), ("cutoff", Text(cutoff)));
            return await ReadAllAsync(end, r => ParseId(r.GetString(0)), ct);
        }, cancellationToken);

    /// <summary>Each active session's version, to tell which walks another instance has moved on since this one last did.</summary>
    public Task<Dictionary<uint, long>> ActiveVersionsAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT session_id, version FROM escort_sessions WHERE state = 'active';");
            List<(uint Id, long Version)> rows = await ReadAllAsync(query, r => (ParseId(r.GetString(0)), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)), ct);
            return rows.ToDictionary(r => r.Id, r => r.Version);
        }, cancellationToken);

    /// <summary>Every active session's last reported position, for the control-center map.</summary>
    public async Task<IReadOnlyList<EscortPosition>> ListActivePositionsAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT session_id, last_lat, last_lon FROM escort_sessions WHERE state = 'active';");
            return await ReadAllAsync(query, r => new EscortPosition(ParseId(r.GetString(0)), new GeoPoint(r.GetDouble(1), r.GetDouble(2))), ct);
        }, cancellationToken);

    private static async Task AppendLocationsAsync(DbConnection connection, uint sessionId, IReadOnlyList<LocationFix> fixes, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        await using DbCommand insert = Command(connection, """
            INSERT INTO location_traces (session_id, lat, lon, measured_at, recorded_at) VALUES (@id, @lat, @lon, @at, @recorded);
            """, ("id", Id(sessionId)), ("recorded", Text(recordedAt)));
        DbParameter lat = Add(insert, "lat", 0.0);
        DbParameter lon = Add(insert, "lon", 0.0);
        DbParameter at = Add(insert, "at", "");
        foreach (LocationFix fix in fixes)
        {
            lat.Value = fix.Latitude;
            lon.Value = fix.Longitude;
            at.Value = Text(fix.At);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Ends an active session; false when it was not active.</summary>
    public Task<bool> EndAsync(uint sessionId, string state, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) => await ExecuteAsync(connection, """
            UPDATE escort_sessions SET state = @state, ended_at = @at WHERE session_id = @id AND state = 'active';
            """, ct, ("state", state), ("at", Text(at)), ("id", Id(sessionId))) == 1, cancellationToken);

    public Task<EscortSessionRecord?> FindAsync(uint sessionId, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {SessionColumns} FROM escort_sessions WHERE session_id = @id;", ("id", Id(sessionId)));
            return await ReadFirstAsync(query, ReadSession, ct);
        }, cancellationToken);

    public async Task<IReadOnlyList<EscortSessionRecord>> ListActiveAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {SessionColumns} FROM escort_sessions WHERE state = 'active' ORDER BY started_at;");
            return await ReadAllAsync(query, ReadSession, ct);
        }, cancellationToken);

    /// <summary>Retention: deletes location traces recorded before <paramref name="cutoff"/>; returns how many went.</summary>
    public Task<int> PurgeTracesBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteAsync("DELETE FROM location_traces WHERE recorded_at < @cutoff;", cutoff, cancellationToken);

    /// <summary>
    /// Retention: deletes sessions (origin and destination: the walker's home) that ended before <paramref name="cutoff"/>,
    /// with any trace rows they still have. Active sessions stay.
    /// </summary>
    public Task<int> PurgeEndedSessionsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            await ExecuteAsync(connection, """
                DELETE FROM location_traces WHERE session_id IN
                  (SELECT session_id FROM escort_sessions WHERE ended_at IS NOT NULL AND ended_at < @cutoff);
                """, ct, ("cutoff", Text(cutoff)));
            return await ExecuteAsync(connection, "DELETE FROM escort_sessions WHERE ended_at IS NOT NULL AND ended_at < @cutoff;", ct, ("cutoff", Text(cutoff)));
        }, cancellationToken);

    /// <summary>
    /// Retention: deletes emergency reports released before <paramref name="cutoff"/>. An unreleased one stays: its lights
    /// are still held, and it is released once its alarm is resolved or gone.
    /// </summary>
    public Task<int> PurgeReleasedEmergenciesBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteAsync("DELETE FROM emergencies WHERE released_at IS NOT NULL AND released_at < @cutoff;", cutoff, cancellationToken);

    /// <summary>Trace rows of one session, or of all sessions when <paramref name="sessionId"/> is null.</summary>
    public Task<long> CountTraceAsync(uint? sessionId, CancellationToken cancellationToken) => sessionId is { } id
        ? CountAsync("SELECT COUNT(*) FROM location_traces WHERE session_id = @id;", cancellationToken, ("id", Id(id)))
        : CountAsync("SELECT COUNT(*) FROM location_traces;", cancellationToken);

    /// <summary>
    /// Stores a new emergency report, or returns the one already stored under the same client and idempotency key, also
    /// when another bridge instance stored it a moment before. The alarm key is made from the row's sequence by
    /// <paramref name="alarmKeyOf"/>.
    /// </summary>
    public Task<(EmergencyRecord Record, bool IsNew)> AddEmergencyAsync(
        string client, string idempotencyKey, string requestHash, GeoPoint location, string districtCode,
        DateTimeOffset at, Func<long, string> alarmKeyOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarmKeyOf);
        // Its own transaction on a fresh connection (retried whole like WriteAsync): SQLite takes a connection's safety
        // level only outside a transaction, and an emergency opens an alarm, so its row is as durable as the alarm's
        // while the file's other writes stay NORMAL.
        return database.ReadAsync(async (connection, ct) =>
        {
            if (database.Dialect.Provider == StorageProvider.Sqlite)
            {
                await ExecuteAsync(connection, "PRAGMA synchronous=FULL;", ct);
            }

            await using DbTransaction transaction = await connection.BeginTransactionAsync(ct);

            // The unique (client, idempotency_key) decides between two instances taking the same report at once.
            long? seq;
            await using (DbCommand insert = Command(connection, """
                INSERT INTO emergencies (client, idempotency_key, request_hash, alarm_key, lat, lon, district_code, lights, reported_at)
                VALUES (@client, @key, @hash, '', @lat, @lon, @district, '[]', @at)
                ON CONFLICT (client, idempotency_key) DO NOTHING RETURNING seq;
                """, ("client", client), ("key", idempotencyKey), ("hash", requestHash), ("lat", location.Latitude),
                ("lon", location.Longitude), ("district", districtCode), ("at", Text(at))))
            {
                seq = await ScalarInt64Async(insert, ct);
            }

            if (seq is { } sequence)
            {
                await ExecuteAsync(connection, "UPDATE emergencies SET alarm_key = @alarm WHERE seq = @seq;", ct,
                    ("alarm", alarmKeyOf(sequence)), ("seq", sequence));
            }

            EmergencyRecord stored;
            await using (DbCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE client = @client AND idempotency_key = @key;",
                ("client", client), ("key", idempotencyKey)))
            {
                stored = (await ReadFirstAsync(query, ReadEmergency, ct))!;
            }

            await transaction.CommitAsync(ct);
            return (stored, seq is not null);
        }, cancellationToken);
    }

    /// <summary>
    /// Records the lights an emergency set blinking, unless some are recorded already; true when these were recorded. The
    /// instance that records them is the one that commands them, also when a report reached two instances at once.
    /// </summary>
    public Task<bool> SetEmergencyLightsAsync(long sequence, IReadOnlyList<string> lights, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, ct) => await ExecuteAsync(connection, "UPDATE emergencies SET lights = @lights WHERE seq = @seq AND lights = '[]';", ct,
                ("lights", JsonSerializer.Serialize(lights)), ("seq", sequence)) == 1,
            cancellationToken);

    /// <summary>Marks an emergency released; true for the one call (on any instance) that did, which then releases its lights.</summary>
    public Task<bool> MarkEmergencyReleasedAsync(long sequence, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (connection, ct) => await ExecuteAsync(connection, "UPDATE emergencies SET released_at = @at WHERE seq = @seq AND released_at IS NULL;", ct,
                ("at", Text(at)), ("seq", sequence)) == 1,
            cancellationToken);

    public Task<EmergencyRecord?> FindEmergencyByAlarmAsync(string alarmKey, CancellationToken cancellationToken) =>
        FindEmergencyAsync("alarm_key = @value", alarmKey, cancellationToken);

    public Task<EmergencyRecord?> FindEmergencyAsync(long sequence, CancellationToken cancellationToken) =>
        FindEmergencyAsync("seq = @value", sequence, cancellationToken);

    public async Task<IReadOnlyList<EmergencyRecord>> ListUnreleasedEmergenciesAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE released_at IS NULL ORDER BY seq;");
            return await ReadAllAsync(query, ReadEmergency, ct);
        }, cancellationToken);

    public Task<long> CountEmergenciesAsync(CancellationToken cancellationToken) => CountAsync("SELECT COUNT(*) FROM emergencies;", cancellationToken);

    public Task<long> CountSessionsAsync(CancellationToken cancellationToken) => CountAsync("SELECT COUNT(*) FROM escort_sessions;", cancellationToken);

    private Task<EmergencyRecord?> FindEmergencyAsync(string condition, object value, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE {condition};", ("value", value));
            return await ReadFirstAsync(query, ReadEmergency, ct);
        }, cancellationToken);

    private Task<long> CountAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, sql, parameters);
            return await ScalarInt64Async(query, ct) ?? 0;
        }, cancellationToken);

    private Task<int> DeleteAsync(string sql, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, ct) => ExecuteAsync(connection, sql, ct, ("cutoff", Text(cutoff))), cancellationToken);

    private static EscortSessionRecord ReadSession(DbDataReader r) => new(
        SessionId: ParseId(r.GetString(0)),
        Client: r.GetString(1),
        State: r.GetString(2),
        Origin: new GeoPoint(r.GetDouble(3), r.GetDouble(4)),
        Destination: new GeoPoint(r.GetDouble(5), r.GetDouble(6)),
        Route: ReadRoute(r, 7),
        StartedAt: Time(r.GetString(8)),
        LastSeenAt: Time(r.GetString(9)),
        LastPosition: new GeoPoint(r.GetDouble(10), r.GetDouble(11)),
        EndedAt: r.IsDBNull(12) ? null : Time(r.GetString(12)),
        Version: Convert.ToInt64(r.GetValue(13), CultureInfo.InvariantCulture),
        Walk: ReadWalk(r, 14));

    private static IReadOnlyList<GeoPoint>? ReadRoute(DbDataReader r, int column) =>
        r.IsDBNull(column) ? null : JsonSerializer.Deserialize<double[][]>(r.GetString(column))!.Select(p => new GeoPoint(p[0], p[1])).ToList();

    private static WalkRecord? ReadWalk(DbDataReader r, int column) => r.IsDBNull(column) ? null : JsonSerializer.Deserialize<WalkRecord>(r.GetString(column));

    private static uint ParseId(string text) => uint.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static EmergencyRecord ReadEmergency(DbDataReader r) => new(
        Sequence: r.GetInt64(0),
        Client: r.GetString(1),
        IdempotencyKey: r.GetString(2),
        RequestHash: r.GetString(3),
        AlarmKey: r.GetString(4),
        Location: new GeoPoint(r.GetDouble(5), r.GetDouble(6)),
        DistrictCode: r.GetString(7),
        Lights: JsonSerializer.Deserialize<string[]>(r.GetString(8)) ?? [],
        ReportedAt: Time(r.GetString(9)),
        ReleasedAt: r.IsDBNull(10) ? null : Time(r.GetString(10)));

    private static string Id(uint sessionId) => Anshimi.Protocol.DeviceIdText.Format(sessionId);
}
