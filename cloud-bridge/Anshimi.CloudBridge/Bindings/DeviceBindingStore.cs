using System.Collections.Concurrent;
using System.Security.Cryptography;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using static Anshimi.CloudBridge.Storage.SqliteFile;

namespace Anshimi.CloudBridge.Bindings;

/// <summary>
/// The authoritative binding device → gateway (file <c>bindings.db</c>), read on every envelope from memory and
/// written through. A gateway can only add its own devices; moving one is <see cref="RehomeAsync"/>, for central staff.
/// </summary>
public sealed class DeviceBindingStore
{
    public const string FileName = "bindings.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS device_bindings (
            device_id TEXT PRIMARY KEY,
            gateway_id TEXT NOT NULL,
            frame_key TEXT NOT NULL,
            profile TEXT NOT NULL,
            site_kind TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            address TEXT NOT NULL,
            district_code TEXT NOT NULL,
            bound_at TEXT NOT NULL);
        """;

    private const string Columns = "device_id, gateway_id, frame_key, profile, site_kind, lat, lon, address, district_code, bound_at";

    private readonly SqliteFile _database;
    private readonly ConcurrentDictionary<uint, DeviceBinding> _bindings = new();
    private readonly SemaphoreSlim _writes = new(1, 1);

    public DeviceBindingStore(string dataDirectory)
    {
        // A binding decides whose word counts: it must survive a power cut like an alarm.
        _database = new SqliteFile(dataDirectory, FileName, SqliteSynchronous.Full, foreignKeys: false, Schema);
        using SqliteConnection connection = _database.Open();
        using SqliteCommand query = Command(connection, $"SELECT {Columns} FROM device_bindings;");
        using SqliteDataReader reader = query.ExecuteReader();
        while (reader.Read())
        {
            DeviceBinding binding = Read(reader);
            _bindings[binding.DeviceId] = binding;
        }
    }

    public DeviceBinding? Find(uint deviceId) => _bindings.TryGetValue(deviceId, out DeviceBinding? binding) ? binding : null;

    public IReadOnlyList<DeviceBinding> List() => [.. _bindings.Values.OrderBy(b => b.DeviceId)];

    /// <summary>Binds the device to <paramref name="gatewayId"/> unless another gateway holds it.</summary>
    public async Task<BindingChange> BindDeviceAsync(
        string gatewayId, uint deviceId, byte[] frameKey, string profile, SiteInfo site, string districtCode, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            DeviceBinding? existing = Find(deviceId);
            if (existing is not null && existing.GatewayId != gatewayId)
            {
                return BindingChange.BoundElsewhere;
            }

            if (existing is not null && existing.Profile == profile && existing.Site == site &&
                CryptographicOperations.FixedTimeEquals(existing.FrameKey, frameKey))
            {
                return BindingChange.Unchanged;
            }

            var binding = new DeviceBinding(deviceId, gatewayId, frameKey, profile, site, districtCode, existing?.BoundAt ?? at);
            await WriteAsync(binding, cancellationToken);
            return existing is null ? BindingChange.Bound : BindingChange.Updated;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Moves a device to another gateway (e.g. after its box was replaced); the previous binding, or null when unknown.</summary>
    public async Task<DeviceBinding?> RehomeAsync(uint deviceId, string gatewayId, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            DeviceBinding? existing = Find(deviceId);
            if (existing is not null)
            {
                await WriteAsync(existing with { GatewayId = gatewayId }, cancellationToken);
            }

            return existing;
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task WriteAsync(DeviceBinding binding, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _database.Open();
        using SqliteCommand upsert = Command(connection, $"""
            INSERT INTO device_bindings ({Columns})
            VALUES ($device, $gateway, $key, $profile, $kind, $lat, $lon, $address, $district, $bound)
            ON CONFLICT (device_id) DO UPDATE SET
                gateway_id = excluded.gateway_id, frame_key = excluded.frame_key, profile = excluded.profile,
                site_kind = excluded.site_kind, lat = excluded.lat, lon = excluded.lon, address = excluded.address,
                district_code = excluded.district_code;
            """);
        upsert.Parameters.AddWithValue("$device", DeviceIdText.Format(binding.DeviceId));
        upsert.Parameters.AddWithValue("$gateway", binding.GatewayId);
        upsert.Parameters.AddWithValue("$key", Convert.ToHexString(binding.FrameKey));
        upsert.Parameters.AddWithValue("$profile", binding.Profile);
        upsert.Parameters.AddWithValue("$kind", binding.Site.Kind);
        upsert.Parameters.AddWithValue("$lat", binding.Site.Latitude);
        upsert.Parameters.AddWithValue("$lon", binding.Site.Longitude);
        upsert.Parameters.AddWithValue("$address", binding.Site.Address);
        upsert.Parameters.AddWithValue("$district", binding.DistrictCode);
        upsert.Parameters.AddWithValue("$bound", Text(binding.BoundAt));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        _bindings[binding.DeviceId] = binding;
    }

    private static DeviceBinding Read(SqliteDataReader r) => new(
        DeviceIdText.TryParse(r.GetString(0), out uint id) ? id : throw new InvalidDataException("bad device id in " + FileName),
        r.GetString(1),
        Convert.FromHexString(r.GetString(2)),
        r.GetString(3),
        new SiteInfo(r.GetString(4), r.GetDouble(5), r.GetDouble(6), r.GetString(7)),
        r.GetString(8),
        Time(r.GetString(9)));
}
