using System.Data.Common;
using System.Security.Cryptography;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Snapshots;

/// <summary>
/// Doorbell snapshots received from gateways, keyed by the alarm they belong to (<c>DEVICEID:snapshotId</c>), in store
/// file <see cref="StoreFile.Snapshots"/> (on SQLite its own file, synchronous=FULL). Storing is idempotent: a resent
/// envelope finds its key and changes nothing, and the caller receipts every copy once this returns.
/// </summary>
public sealed class CloudSnapshotStore(StoreDatabase database)
{
    public const string JpegContentType = "image/jpeg";

    private const string Columns = "key, device_id, gateway_id, event_code, qualifier, zone, taken_at, content_type, sha256, data, received_at";

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
    public Task<bool> StoreAsync(SnapshotEnvelope snapshot, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        string key = AlarmKey.TryParse(snapshot.Key, out AlarmKey parsed) ? parsed.ToString() : throw new ArgumentException("invalid snapshot key", nameof(snapshot));
        return database.WriteAsync(async (connection, ct) => await ExecuteAsync(connection, $"""
            INSERT INTO snapshots ({Columns})
            VALUES (@key, @device, @gateway, @code, @qualifier, @zone, @taken, @type, @sha, @data, @received)
            ON CONFLICT (key) DO NOTHING;
            """, ct,
            ("key", key),
            ("device", DeviceIdText.Format(parsed.DeviceId)),
            ("gateway", snapshot.GatewayId),
            ("code", snapshot.Event.Code),
            ("qualifier", snapshot.Event.Qualifier),
            ("zone", snapshot.Event.Zone),
            ("taken", Text(snapshot.TakenAt)),
            ("type", snapshot.ContentType),
            ("sha", snapshot.Sha256Hex.ToLowerInvariant()),
            ("data", snapshot.Data),
            ("received", Text(receivedAt))) == 1, cancellationToken);
    }

    public Task<SnapshotRecord?> FindAsync(string key, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {Columns} FROM snapshots WHERE key = @key;", ("key", key));
            return await ReadFirstAsync(query, r => new SnapshotRecord(
                r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
                Time(r.GetString(6)), r.GetString(7), r.GetString(8), (byte[])r[9],
                Time(r.GetString(10))), ct);
        }, cancellationToken);

    public async Task<long> CountAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT COUNT(*) FROM snapshots;");
            return await ScalarInt64Async(query, ct) ?? 0;
        }, cancellationToken);

    /// <summary>Retention: deletes snapshots that arrived before <paramref name="cutoff"/>; returns how many went.</summary>
    public Task<int> PurgeReceivedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.WriteAsync(
            (connection, ct) => ExecuteAsync(connection, "DELETE FROM snapshots WHERE received_at < @cutoff;", ct, ("cutoff", Text(cutoff))),
            cancellationToken);
}
