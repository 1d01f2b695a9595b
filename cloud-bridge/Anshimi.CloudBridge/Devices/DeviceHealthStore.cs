using System.Globalization;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Devices;

/// <summary>
/// Devices as their gateways report them (device-status, latest wins) and the troubles gateways detect
/// (trouble envelopes, stored once by their <c>{gatewayId}/{sequence}</c> key like alarms). File devices.db.
/// </summary>
public sealed class DeviceHealthStore
{
    public const string FileName = "devices.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS devices (
            device_id TEXT PRIMARY KEY,
            gateway_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            site_kind TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            address TEXT NOT NULL,
            district_code TEXT NOT NULL,
            silent INTEGER NOT NULL,
            low_battery INTEGER NOT NULL,
            tamper INTEGER NOT NULL,
            mains_lost INTEGER NOT NULL,
            lamp_fault INTEGER NOT NULL,
            battery_percent INTEGER,
            last_seen TEXT,
            status_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS devices_by_district ON devices(district_code);
        CREATE INDEX IF NOT EXISTS devices_lamp_faults ON devices(device_id) WHERE lamp_fault = 1;
        CREATE TABLE IF NOT EXISTS troubles (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            gateway_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            event_code INTEGER NOT NULL,
            qualifier INTEGER NOT NULL,
            zone INTEGER NOT NULL,
            profile TEXT NOT NULL,
            address TEXT NOT NULL,
            district_code TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            received_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS troubles_by_device ON troubles(device_id, event_code, seq);
        """;

    private const string DeviceColumns = """
        device_id, gateway_id, profile, site_kind, lat, lon, address, district_code, silent, low_battery, tamper,
        mains_lost, lamp_fault, battery_percent, last_seen, status_at
        """;

    private readonly SqliteFile _database;

    public DeviceHealthStore(string dataDirectory)
    {
        _database = new SqliteFile(dataDirectory, FileName, SqliteSynchronous.Full, foreignKeys: false, Schema);
    }

    public string DatabasePath => _database.DatabasePath;

    /// <summary>Keeps the newest status per device; an older one arriving late changes nothing. True when stored.</summary>
    public async Task<bool> RecordStatusAsync(DeviceStatusEnvelope status, string districtCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand upsert = Command(connection, $"""
            INSERT INTO devices ({DeviceColumns})
            VALUES ($device, $gateway, $profile, $kind, $lat, $lon, $address, $district, $silent, $low, $tamper, $mains, $lamp, $battery, $seen, $at)
            ON CONFLICT (device_id) DO UPDATE SET
                gateway_id = excluded.gateway_id, profile = excluded.profile, site_kind = excluded.site_kind, lat = excluded.lat,
                lon = excluded.lon, address = excluded.address, district_code = excluded.district_code, silent = excluded.silent,
                low_battery = excluded.low_battery, tamper = excluded.tamper, mains_lost = excluded.mains_lost,
                lamp_fault = excluded.lamp_fault, battery_percent = excluded.battery_percent, last_seen = excluded.last_seen,
                status_at = excluded.status_at
            WHERE excluded.status_at >= devices.status_at;
            """);
        upsert.Parameters.AddWithValue("$device", status.DeviceId);
        upsert.Parameters.AddWithValue("$gateway", status.GatewayId);
        upsert.Parameters.AddWithValue("$profile", status.Profile);
        upsert.Parameters.AddWithValue("$kind", status.Site.Kind);
        upsert.Parameters.AddWithValue("$lat", status.Site.Latitude);
        upsert.Parameters.AddWithValue("$lon", status.Site.Longitude);
        upsert.Parameters.AddWithValue("$address", status.Site.Address);
        upsert.Parameters.AddWithValue("$district", districtCode);
        upsert.Parameters.AddWithValue("$silent", status.Health.Silent ? 1 : 0);
        upsert.Parameters.AddWithValue("$low", status.Health.LowBattery ? 1 : 0);
        upsert.Parameters.AddWithValue("$tamper", status.Health.Tamper ? 1 : 0);
        upsert.Parameters.AddWithValue("$mains", status.Health.MainsLost ? 1 : 0);
        upsert.Parameters.AddWithValue("$lamp", status.Health.LampFault ? 1 : 0);
        upsert.Parameters.AddWithValue("$battery", (object?)status.Health.BatteryPercent ?? DBNull.Value);
        upsert.Parameters.AddWithValue("$seen", status.LastSeen is { } seen ? Text(seen) : DBNull.Value);
        upsert.Parameters.AddWithValue("$at", Text(status.At));
        return await upsert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Stores the trouble unless its key is already stored; true when it was new.</summary>
    public async Task<bool> StoreTroubleAsync(TroubleEnvelope trouble, string districtCode, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trouble);
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand insert = Command(connection, """
            INSERT OR IGNORE INTO troubles (key, gateway_id, device_id, event_code, qualifier, zone, profile, address, district_code, detected_at, received_at)
            VALUES ($key, $gateway, $device, $code, $qualifier, $zone, $profile, $address, $district, $detected, $received);
            """);
        insert.Parameters.AddWithValue("$key", trouble.Key);
        insert.Parameters.AddWithValue("$gateway", trouble.GatewayId);
        insert.Parameters.AddWithValue("$device", trouble.DeviceId);
        insert.Parameters.AddWithValue("$code", trouble.Event.Code);
        insert.Parameters.AddWithValue("$qualifier", trouble.Event.Qualifier);
        insert.Parameters.AddWithValue("$zone", trouble.Event.Zone);
        insert.Parameters.AddWithValue("$profile", trouble.Profile);
        insert.Parameters.AddWithValue("$address", trouble.Site.Address);
        insert.Parameters.AddWithValue("$district", districtCode);
        insert.Parameters.AddWithValue("$detected", Text(trouble.DetectedAt));
        insert.Parameters.AddWithValue("$received", Text(receivedAt));
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<DeviceRecord>> ListDevicesAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "");
        query.CommandText = $"SELECT {DeviceColumns} FROM devices {DistrictCondition(query, districts, "WHERE")} ORDER BY device_id;";
        return await ReadAllAsync(query, reader => new DeviceRecord(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDouble(4), reader.GetDouble(5),
            reader.GetString(6), reader.GetString(7),
            new DeviceHealth(reader.GetInt64(8) != 0, reader.GetInt64(9) != 0, reader.GetInt64(10) != 0, reader.GetInt64(11) != 0,
                reader.GetInt64(12) != 0, reader.IsDBNull(13) ? null : reader.GetInt32(13)),
            reader.IsDBNull(14) ? null : Time(reader.GetString(14)),
            Time(reader.GetString(15))), cancellationToken);
    }

    /// <summary>Ids of the devices whose latest status reports a lamp fault: one query, for the map's streetlight layer.</summary>
    public async Task<IReadOnlyList<string>> ListLampFaultsAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT device_id FROM devices WHERE lamp_fault = 1;");
        return await ReadAllAsync(query, reader => reader.GetString(0), cancellationToken);
    }

    /// <summary>Troubles whose latest report per device and event is a new event (not yet restored).</summary>
    public async Task<IReadOnlyList<TroubleRecord>> ListActiveTroublesAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "");
        query.CommandText = $"""
            SELECT key, gateway_id, device_id, event_code, qualifier, zone, profile, address, district_code, detected_at, received_at
            FROM troubles t
            WHERE seq = (SELECT MAX(seq) FROM troubles u WHERE u.device_id = t.device_id AND u.event_code = t.event_code)
              AND qualifier = 1 {DistrictCondition(query, districts, "AND")}
            ORDER BY seq DESC;
            """;
        return await ReadAllAsync(query, reader => new TroubleRecord(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5),
            reader.GetString(6), reader.GetString(7), reader.GetString(8), Time(reader.GetString(9)), Time(reader.GetString(10))), cancellationToken);
    }

    /// <summary>Which districts each gateway serves, from the devices it reports.</summary>
    public async Task<IReadOnlyDictionary<string, HashSet<string>>> GatewayDistrictsAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, "SELECT DISTINCT gateway_id, district_code FROM devices;");
        var map = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        await using SqliteDataReader reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string gateway = reader.GetString(0);
            if (!map.TryGetValue(gateway, out HashSet<string>? set))
            {
                map[gateway] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(reader.GetString(1));
        }

        return map;
    }

    private static string DistrictCondition(SqliteCommand command, IReadOnlyCollection<string>? districts, string keyword)
    {
        if (districts is null)
        {
            return "";
        }

        var names = new List<string>();
        foreach (string district in districts)
        {
            string name = "$d" + names.Count.ToString(CultureInfo.InvariantCulture);
            names.Add(name);
            command.Parameters.AddWithValue(name, district);
        }

        return names.Count == 0 ? keyword + " 0" : keyword + " district_code IN (" + string.Join(", ", names) + ")";
    }
}

public sealed record DeviceRecord(
    string DeviceId, string GatewayId, string Profile, string SiteKind, double Latitude, double Longitude, string Address,
    string DistrictCode, DeviceHealth Health, DateTimeOffset? LastSeen, DateTimeOffset StatusAt);

public sealed record TroubleRecord(
    string Key, string GatewayId, string DeviceId, int EventCode, int Qualifier, int Zone, string Profile, string Address,
    string DistrictCode, DateTimeOffset DetectedAt, DateTimeOffset ReceivedAt);
