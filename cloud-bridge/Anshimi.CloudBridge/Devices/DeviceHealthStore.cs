using System.Data.Common;
using System.Globalization;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Devices;

/// <summary>
/// Devices as their gateways report them (device-status, latest wins) and the troubles gateways detect
/// (trouble envelopes, stored once by their <c>{gatewayId}/{sequence}</c> key like alarms). Store file <see cref="StoreFile.Devices"/>.
/// </summary>
public sealed class DeviceHealthStore(StoreDatabase database)
{
    private const string DeviceColumns = """
        device_id, gateway_id, profile, site_kind, lat, lon, address, district_code, silent, low_battery, tamper,
        mains_lost, lamp_fault, battery_percent, last_seen, status_at
        """;

    private const string TroubleColumns =
        "key, gateway_id, device_id, event_code, qualifier, zone, profile, address, district_code, detected_at, received_at";

    /// <summary>Keeps the newest status per device; an older one arriving late changes nothing. True when stored.</summary>
    public Task<bool> RecordStatusAsync(DeviceStatusEnvelope status, string districtCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        return database.WriteAsync(async (connection, ct) => await ExecuteAsync(connection, $"""
            INSERT INTO devices ({DeviceColumns})
            VALUES (@device, @gateway, @profile, @kind, @lat, @lon, @address, @district, @silent, @low, @tamper, @mains, @lamp, @battery, @seen, @at)
            ON CONFLICT (device_id) DO UPDATE SET
                gateway_id = excluded.gateway_id, profile = excluded.profile, site_kind = excluded.site_kind, lat = excluded.lat,
                lon = excluded.lon, address = excluded.address, district_code = excluded.district_code, silent = excluded.silent,
                low_battery = excluded.low_battery, tamper = excluded.tamper, mains_lost = excluded.mains_lost,
                lamp_fault = excluded.lamp_fault, battery_percent = excluded.battery_percent, last_seen = excluded.last_seen,
                status_at = excluded.status_at
            WHERE excluded.status_at >= devices.status_at;
            """, ct,
            ("device", status.DeviceId),
            ("gateway", status.GatewayId),
            ("profile", status.Profile),
            ("kind", status.Site.Kind),
            ("lat", status.Site.Latitude),
            ("lon", status.Site.Longitude),
            ("address", status.Site.Address),
            ("district", districtCode),
            ("silent", status.Health.Silent ? 1 : 0),
            ("low", status.Health.LowBattery ? 1 : 0),
            ("tamper", status.Health.Tamper ? 1 : 0),
            ("mains", status.Health.MainsLost ? 1 : 0),
            ("lamp", status.Health.LampFault ? 1 : 0),
            ("battery", status.Health.BatteryPercent),
            ("seen", status.LastSeen is { } seen ? Text(seen) : null),
            ("at", Text(status.At))) == 1, cancellationToken);
    }

    /// <summary>Stores the trouble unless its key is already stored; true when it was new.</summary>
    public Task<bool> StoreTroubleAsync(TroubleEnvelope trouble, string districtCode, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trouble);
        return database.WriteAsync(async (connection, ct) => await ExecuteAsync(connection, $"""
            INSERT INTO troubles ({TroubleColumns})
            VALUES (@key, @gateway, @device, @code, @qualifier, @zone, @profile, @address, @district, @detected, @received)
            ON CONFLICT (key) DO NOTHING;
            """, ct,
            ("key", trouble.Key),
            ("gateway", trouble.GatewayId),
            ("device", trouble.DeviceId),
            ("code", trouble.Event.Code),
            ("qualifier", trouble.Event.Qualifier),
            ("zone", trouble.Event.Zone),
            ("profile", trouble.Profile),
            ("address", trouble.Site.Address),
            ("district", districtCode),
            ("detected", Text(trouble.DetectedAt)),
            ("received", Text(receivedAt))) == 1, cancellationToken);
    }

    public async Task<IReadOnlyList<DeviceRecord>> ListDevicesAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "");
            query.CommandText = $"SELECT {DeviceColumns} FROM devices {DistrictCondition(query, districts, "WHERE")} ORDER BY device_id;";
            return await ReadAllAsync(query, reader => new DeviceRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDouble(4), reader.GetDouble(5),
                reader.GetString(6), reader.GetString(7),
                new DeviceHealth(Flag(reader, 8), Flag(reader, 9), Flag(reader, 10), Flag(reader, 11), Flag(reader, 12),
                    reader.IsDBNull(13) ? null : reader.GetInt32(13)),
                reader.IsDBNull(14) ? null : Time(reader.GetString(14)),
                Time(reader.GetString(15))), ct);
        }, cancellationToken);

    /// <summary>Ids of the devices whose latest status reports a lamp fault: one query, for the map's streetlight layer.</summary>
    public async Task<IReadOnlyList<string>> ListLampFaultsAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT device_id FROM devices WHERE lamp_fault = 1;");
            return await ReadAllAsync(query, reader => reader.GetString(0), ct);
        }, cancellationToken);

    /// <summary>Troubles whose latest report per device and event is a new event (not yet restored).</summary>
    public async Task<IReadOnlyList<TroubleRecord>> ListActiveTroublesAsync(IReadOnlyCollection<string>? districts, CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "");
            query.CommandText = $"""
                SELECT {TroubleColumns}
                FROM troubles t
                WHERE seq = (SELECT MAX(seq) FROM troubles u WHERE u.device_id = t.device_id AND u.event_code = t.event_code)
                  AND qualifier = 1 {DistrictCondition(query, districts, "AND")}
                ORDER BY seq DESC;
                """;
            return await ReadAllAsync(query, reader => new TroubleRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5),
                reader.GetString(6), reader.GetString(7), reader.GetString(8), Time(reader.GetString(9)), Time(reader.GetString(10))), ct);
        }, cancellationToken);

    /// <summary>Which districts each gateway serves, from the devices it reports.</summary>
    public async Task<IReadOnlyDictionary<string, HashSet<string>>> GatewayDistrictsAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, "SELECT DISTINCT gateway_id, district_code FROM devices;");
            var map = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach ((string gateway, string district) in await ReadAllAsync(query, reader => (reader.GetString(0), reader.GetString(1)), ct))
            {
                if (!map.TryGetValue(gateway, out HashSet<string>? set))
                {
                    map[gateway] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(district);
            }

            return map;
        }, cancellationToken);

    private static bool Flag(DbDataReader reader, int ordinal) => reader.GetInt32(ordinal) != 0;

    private static string DistrictCondition(DbCommand command, IReadOnlyCollection<string>? districts, string keyword)
    {
        if (districts is null)
        {
            return "";
        }

        var names = new List<string>();
        foreach (string district in districts)
        {
            string name = "d" + names.Count.ToString(CultureInfo.InvariantCulture);
            names.Add("@" + name);
            Add(command, name, district);
        }

        return names.Count == 0 ? keyword + " 1 = 0" : keyword + " district_code IN (" + string.Join(", ", names) + ")";
    }
}

public sealed record DeviceRecord(
    string DeviceId, string GatewayId, string Profile, string SiteKind, double Latitude, double Longitude, string Address,
    string DistrictCode, DeviceHealth Health, DateTimeOffset? LastSeen, DateTimeOffset StatusAt);

public sealed record TroubleRecord(
    string Key, string GatewayId, string DeviceId, int EventCode, int Qualifier, int Zone, string Profile, string Address,
    string DistrictCode, DateTimeOffset DetectedAt, DateTimeOffset ReceivedAt);
