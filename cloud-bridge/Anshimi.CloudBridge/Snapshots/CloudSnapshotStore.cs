using System.Security.Cryptography;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Snapshots;

/// <summary>
/// Doorbell snapshots received from gateways, keyed by the alarm they belong to (<c>DEVICEID:snapshotId</c>),
/// in their own SQLite file (<c>snapshots.db</c>, WAL, synchronous=FULL). Storing is idempotent: a resent
/// envelope finds its key and changes nothing, and the caller receipts every copy once this returns.
/// </summary>
public sealed class CloudSnapshotStore
{
    public const string JpegContentType = "image/jpeg";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS snapshots (
            key TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            gateway_id TEXT NOT NULL,
            event_code INTEGER NOT NULL,
            qualifier INTEGER NOT NULL,
            zone INTEGER NOT NULL,
            taken_at TEXT NOT NULL,
            content_type TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            data BLOB NOT NULL,
            received_at TEXT NOT NULL);
        """;

    private readonly SqliteFile _database;

    public CloudSnapshotStore(string dataDirectory)
    {
        _database = new SqliteFile(dataDirectory, "snapshots.db", SqliteSynchronous.Full, foreignKeys: false, Schema);
    }

    public string DatabasePath => _database.DatabasePath;

    /// <summary>Why the envelope cannot be stored, or null when it is well-formed and its hash matches its image.</summary>
    public static string? Validate(SnapshotEnvelope snapshot, string gatewayId)
    {
        if (!AlarmKey.TryParse(snapshot.Key, out AlarmKey key))
        {
            return "snapshot key is not DEVICEID:COUNTER";
        }

        if (!DeviceIdText.TryParse(snapshot.DeviceId, out uint deviceId) || deviceId != key.DeviceId)
        {
            return "snapshot key does not match deviceId";
        }

        if (snapshot.GatewayId != gatewayId)
        {
            return "snapshot gatewayId differs from its topic";
        }

        if (snapshot.Event is null || snapshot.Event.Code is < 1 or > ContactIdCode.Max || snapshot.Event.Qualifier is < 0 or > 9 || snapshot.Event.Zone is < 0 or > 999)
        {
            return "snapshot event is not a Contact ID event";
        }

        if (snapshot.ContentType != JpegContentType || snapshot.Data is null || snapshot.Data.Length == 0)
        {
            return "snapshot is not a JPEG image";
        }

        // End to end: the bytes stored are the bytes the doorbell hashed.
        return string.Equals(Convert.ToHexStringLower(SHA256.HashData(snapshot.Data)), snapshot.Sha256Hex, StringComparison.OrdinalIgnoreCase)
            ? null
            : "snapshot sha256 does not match its data";
    }

    /// <summary>Stores the snapshot unless its key is already stored; true when it was new. Durable on return.</summary>
    public async Task<bool> StoreAsync(SnapshotEnvelope snapshot, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        string key = AlarmKey.TryParse(snapshot.Key, out AlarmKey parsed) ? parsed.ToString() : throw new ArgumentException("invalid snapshot key", nameof(snapshot));
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand insert = Command(connection, """
            INSERT OR IGNORE INTO snapshots (key, device_id, gateway_id, event_code, qualifier, zone, taken_at, content_type, sha256, data, received_at)
            VALUES ($key, $device, $gateway, $code, $qualifier, $zone, $taken, $type, $sha, $data, $received);
            """);
        insert.Parameters.AddWithValue("$key", key);
        insert.Parameters.AddWithValue("$device", DeviceIdText.Format(parsed.DeviceId));
        insert.Parameters.AddWithValue("$gateway", snapshot.GatewayId);
        insert.Parameters.AddWithValue("$code", snapshot.Event.Code);
        insert.Parameters.AddWithValue("$qualifier", snapshot.Event.Qualifier);
        insert.Parameters.AddWithValue("$zone", snapshot.Event.Zone);
        insert.Parameters.AddWithValue("$taken", Text(snapshot.TakenAt));
        insert.Parameters.AddWithValue("$type", snapshot.ContentType);
        insert.Parameters.AddWithValue("$sha", snapshot.Sha256Hex.ToLowerInvariant());
        insert.Parameters.AddWithValue("$data", snapshot.Data);
        insert.Parameters.AddWithValue("$received", Text(receivedAt));
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<SnapshotRecord?> FindAsync(string key, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, """
            SELECT key, device_id, gateway_id, event_code, qualifier, zone, taken_at, content_type, sha256, data, received_at
            FROM snapshots WHERE key = $key;
            """);
        query.Parameters.AddWithValue("$key", key);
        return await ReadFirstAsync(query, r => new SnapshotRecord(
            r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
            Time(r.GetString(6)), r.GetString(7), r.GetString(8), (byte[])r[9],
            Time(r.GetString(10))), cancellationToken);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT count(*) FROM snapshots;");
        return (long)(await query.ExecuteScalarAsync(cancellationToken))!;
    }
}
