using System.Globalization;
using System.Text.Json;
using Anshimi.CloudBridge.Storage;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

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
    DateTimeOffset? EndedAt);

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
/// Escort sessions, their location traces and emergency reports in SQLite (<c>escorts.db</c>, WAL). Traces
/// are written with <c>synchronous=NORMAL</c>: they are evidence, not alarms, and a power cut may lose the
/// last second of them. Each trace row has <c>recorded_at</c> for the retention purge.
/// </summary>
public sealed class EscortStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS escort_sessions (
            session_id TEXT PRIMARY KEY,
            client TEXT NOT NULL,
            state TEXT NOT NULL,
            origin_lat REAL NOT NULL,
            origin_lon REAL NOT NULL,
            destination_lat REAL NOT NULL,
            destination_lon REAL NOT NULL,
            route TEXT,
            started_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            last_lat REAL NOT NULL,
            last_lon REAL NOT NULL,
            ended_at TEXT);
        CREATE INDEX IF NOT EXISTS escort_sessions_active ON escort_sessions(state) WHERE state = 'active';
        CREATE TABLE IF NOT EXISTS location_traces (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            measured_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS location_traces_recorded ON location_traces(recorded_at);
        CREATE INDEX IF NOT EXISTS location_traces_session ON location_traces(session_id, id);
        CREATE TABLE IF NOT EXISTS emergencies (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            client TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            alarm_key TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            district_code TEXT NOT NULL,
            lights TEXT NOT NULL,
            reported_at TEXT NOT NULL,
            released_at TEXT,
            UNIQUE (client, idempotency_key));
        """;

    private const string SessionColumns = """
        session_id, client, state, origin_lat, origin_lon, destination_lat, destination_lon, route,
        started_at, last_seen_at, last_lat, last_lon, ended_at
        """;

    private const string EmergencyColumns = """
        seq, client, idempotency_key, request_hash, alarm_key, lat, lon, district_code, lights, reported_at, released_at
        """;

    private readonly SqliteFile _database;

    public EscortStore(string dataDirectory)
    {
        // NORMAL: traces are evidence, not alarms; the emergency insert raises its own connection to FULL.
        _database = new SqliteFile(dataDirectory, "escorts.db", SqliteSynchronous.Normal, foreignKeys: false, Schema);
    }

    public string DatabasePath => _database.DatabasePath;

    /// <summary>Stores a new active session; false when the id is taken.</summary>
    public async Task<bool> TryStartAsync(EscortSessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand insert = Command(connection, $"""
            INSERT OR IGNORE INTO escort_sessions ({SessionColumns})
            VALUES ($id, $client, $state, $olat, $olon, $dlat, $dlon, $route, $started, $seen, $lat, $lon, NULL);
            """);
        insert.Parameters.AddWithValue("$id", Id(session.SessionId));
        insert.Parameters.AddWithValue("$client", session.Client);
        insert.Parameters.AddWithValue("$state", session.State);
        insert.Parameters.AddWithValue("$olat", session.Origin.Latitude);
        insert.Parameters.AddWithValue("$olon", session.Origin.Longitude);
        insert.Parameters.AddWithValue("$dlat", session.Destination.Latitude);
        insert.Parameters.AddWithValue("$dlon", session.Destination.Longitude);
        insert.Parameters.AddWithValue("$route", session.Route is null ? DBNull.Value : JsonSerializer.Serialize(session.Route.Select(p => new[] { p.Latitude, p.Longitude })));
        insert.Parameters.AddWithValue("$started", Text(session.StartedAt));
        insert.Parameters.AddWithValue("$seen", Text(session.LastSeenAt));
        insert.Parameters.AddWithValue("$lat", session.LastPosition.Latitude);
        insert.Parameters.AddWithValue("$lon", session.LastPosition.Longitude);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Appends location fixes to the trace and moves the session's last position, in one transaction.</summary>
    public async Task RecordLocationsAsync(uint sessionId, IReadOnlyList<LocationFix> fixes, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fixes);
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand insert = Command(connection, """
            INSERT INTO location_traces (session_id, lat, lon, measured_at, recorded_at) VALUES ($id, $lat, $lon, $at, $recorded);
            """);
        insert.Parameters.AddWithValue("$id", Id(sessionId));
        insert.Parameters.AddWithValue("$recorded", Text(recordedAt));
        SqliteParameter lat = insert.Parameters.Add("$lat", SqliteType.Real);
        SqliteParameter lon = insert.Parameters.Add("$lon", SqliteType.Real);
        SqliteParameter at = insert.Parameters.Add("$at", SqliteType.Text);
        foreach (LocationFix fix in fixes)
        {
            lat.Value = fix.Latitude;
            lon.Value = fix.Longitude;
            at.Value = Text(fix.At);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        LocationFix last = fixes[^1];
        using SqliteCommand update = Command(connection, """
            UPDATE escort_sessions SET last_seen_at = $seen, last_lat = $lat, last_lon = $lon WHERE session_id = $id AND state = 'active';
            """);
        update.Parameters.AddWithValue("$seen", Text(recordedAt));
        update.Parameters.AddWithValue("$lat", last.Latitude);
        update.Parameters.AddWithValue("$lon", last.Longitude);
        update.Parameters.AddWithValue("$id", Id(sessionId));
        await update.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Ends an active session; false when it was not active.</summary>
    public async Task<bool> EndAsync(uint sessionId, string state, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, """
            UPDATE escort_sessions SET state = $state, ended_at = $at WHERE session_id = $id AND state = 'active';
            """);
        update.Parameters.AddWithValue("$state", state);
        update.Parameters.AddWithValue("$at", Text(at));
        update.Parameters.AddWithValue("$id", Id(sessionId));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<EscortSessionRecord?> FindAsync(uint sessionId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {SessionColumns} FROM escort_sessions WHERE session_id = $id;");
        query.Parameters.AddWithValue("$id", Id(sessionId));
        return await ReadFirstAsync(query, ReadSession, cancellationToken);
    }

    public async Task<IReadOnlyList<EscortSessionRecord>> ListActiveAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {SessionColumns} FROM escort_sessions WHERE state = 'active' ORDER BY started_at;");
        return await ReadAllAsync(query, ReadSession, cancellationToken);
    }

    /// <summary>Retention: deletes location traces recorded before <paramref name="cutoff"/>; returns how many went.</summary>
    public Task<int> PurgeTracesBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteAsync("DELETE FROM location_traces WHERE recorded_at < $cutoff;", cutoff, cancellationToken);

    /// <summary>
    /// Retention: deletes sessions (origin and destination: the walker's home) that ended before <paramref name="cutoff"/>,
    /// with any trace rows they still have. Active sessions stay.
    /// </summary>
    public async Task<int> PurgeEndedSessionsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        using SqliteCommand traces = Command(connection, """
            DELETE FROM location_traces WHERE session_id IN
              (SELECT session_id FROM escort_sessions WHERE ended_at IS NOT NULL AND ended_at < $cutoff);
            """);
        traces.Parameters.AddWithValue("$cutoff", Text(cutoff));
        await traces.ExecuteNonQueryAsync(cancellationToken);
        using SqliteCommand sessions = Command(connection, "DELETE FROM escort_sessions WHERE ended_at IS NOT NULL AND ended_at < $cutoff;");
        sessions.Parameters.AddWithValue("$cutoff", Text(cutoff));
        int removed = await sessions.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    /// <summary>
    /// Retention: deletes emergency reports released before <paramref name="cutoff"/>. An unreleased one stays: its lights
    /// are still held, and it is released once its alarm is resolved or gone.
    /// </summary>
    public Task<int> PurgeReleasedEmergenciesBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteAsync("DELETE FROM emergencies WHERE released_at IS NOT NULL AND released_at < $cutoff;", cutoff, cancellationToken);

    /// <summary>Trace rows of one session, or of all sessions when <paramref name="sessionId"/> is null.</summary>
    public async Task<long> CountTraceAsync(uint? sessionId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT COUNT(*) FROM location_traces WHERE $id IS NULL OR session_id = $id;");
        query.Parameters.AddWithValue("$id", sessionId is { } id ? Id(id) : DBNull.Value);
        return (long)(await query.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Stores a new emergency report, or returns the one already stored under the same client and idempotency
    /// key. The alarm key is made from the row's sequence by <paramref name="alarmKeyOf"/>.
    /// </summary>
    public async Task<(EmergencyRecord Record, bool IsNew)> AddEmergencyAsync(
        string client, string idempotencyKey, string requestHash, GeoPoint location, string districtCode,
        DateTimeOffset at, Func<long, string> alarmKeyOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarmKeyOf);
        await using SqliteConnection connection = _database.Open();

        // An emergency opens an alarm: its row is as durable as the alarm's.
        Execute(connection, "PRAGMA synchronous=FULL;");
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        EmergencyRecord? existing = await FindEmergencyAsync(connection, client, idempotencyKey, cancellationToken);
        if (existing is not null)
        {
            return (existing, false);
        }

        using SqliteCommand insert = Command(connection, $"""
            INSERT INTO emergencies (client, idempotency_key, request_hash, alarm_key, lat, lon, district_code, lights, reported_at)
            VALUES ($client, $key, $hash, '', $lat, $lon, $district, '[]', $at) RETURNING seq;
            """);
        insert.Parameters.AddWithValue("$client", client);
        insert.Parameters.AddWithValue("$key", idempotencyKey);
        insert.Parameters.AddWithValue("$hash", requestHash);
        insert.Parameters.AddWithValue("$lat", location.Latitude);
        insert.Parameters.AddWithValue("$lon", location.Longitude);
        insert.Parameters.AddWithValue("$district", districtCode);
        insert.Parameters.AddWithValue("$at", Text(at));
        long seq = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        using SqliteCommand key = Command(connection, "UPDATE emergencies SET alarm_key = $alarm WHERE seq = $seq;");
        key.Parameters.AddWithValue("$alarm", alarmKeyOf(seq));
        key.Parameters.AddWithValue("$seq", seq);
        await key.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ((await FindEmergencyAsync(connection, client, idempotencyKey, cancellationToken))!, true);
    }

    public async Task SetEmergencyLightsAsync(long sequence, IReadOnlyList<string> lights, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, "UPDATE emergencies SET lights = $lights WHERE seq = $seq;");
        update.Parameters.AddWithValue("$lights", JsonSerializer.Serialize(lights));
        update.Parameters.AddWithValue("$seq", sequence);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task MarkEmergencyReleasedAsync(long sequence, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand update = Command(connection, "UPDATE emergencies SET released_at = $at WHERE seq = $seq AND released_at IS NULL;");
        update.Parameters.AddWithValue("$at", Text(at));
        update.Parameters.AddWithValue("$seq", sequence);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<EmergencyRecord?> FindEmergencyByAlarmAsync(string alarmKey, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE alarm_key = $alarm;");
        query.Parameters.AddWithValue("$alarm", alarmKey);
        return await ReadFirstAsync(query, ReadEmergency, cancellationToken);
    }

    public async Task<EmergencyRecord?> FindEmergencyAsync(long sequence, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE seq = $seq;");
        query.Parameters.AddWithValue("$seq", sequence);
        return await ReadFirstAsync(query, ReadEmergency, cancellationToken);
    }

    public async Task<IReadOnlyList<EmergencyRecord>> ListUnreleasedEmergenciesAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE released_at IS NULL ORDER BY seq;");
        return await ReadAllAsync(query, ReadEmergency, cancellationToken);
    }

    public async Task<long> CountEmergenciesAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT COUNT(*) FROM emergencies;");
        return (long)(await query.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<long> CountSessionsAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT COUNT(*) FROM escort_sessions;");
        return (long)(await query.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<int> DeleteAsync(string sql, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand delete = Command(connection, sql);
        delete.Parameters.AddWithValue("$cutoff", Text(cutoff));
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<EmergencyRecord?> FindEmergencyAsync(SqliteConnection connection, string client, string key, CancellationToken cancellationToken)
    {
        using SqliteCommand query = Command(connection, $"SELECT {EmergencyColumns} FROM emergencies WHERE client = $client AND idempotency_key = $key;");
        query.Parameters.AddWithValue("$client", client);
        query.Parameters.AddWithValue("$key", key);
        return await ReadFirstAsync(query, ReadEmergency, cancellationToken);
    }

    private static EscortSessionRecord ReadSession(SqliteDataReader r) => new(
        SessionId: uint.Parse(r.GetString(0), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        Client: r.GetString(1),
        State: r.GetString(2),
        Origin: new GeoPoint(r.GetDouble(3), r.GetDouble(4)),
        Destination: new GeoPoint(r.GetDouble(5), r.GetDouble(6)),
        Route: r.IsDBNull(7) ? null : JsonSerializer.Deserialize<double[][]>(r.GetString(7))!.Select(p => new GeoPoint(p[0], p[1])).ToList(),
        StartedAt: Time(r.GetString(8)),
        LastSeenAt: Time(r.GetString(9)),
        LastPosition: new GeoPoint(r.GetDouble(10), r.GetDouble(11)),
        EndedAt: r.IsDBNull(12) ? null : Time(r.GetString(12)));

    private static EmergencyRecord ReadEmergency(SqliteDataReader r) => new(
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
