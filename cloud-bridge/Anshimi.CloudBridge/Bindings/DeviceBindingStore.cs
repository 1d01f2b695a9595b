using System.Data.Common;
using System.Security.Cryptography;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Bindings;

/// <summary>
/// The authoritative binding device → gateway (store file <see cref="StoreFile.Bindings"/>), read from the database on
/// every envelope, so every bridge instance on one database sees the same binding. A gateway can only add its own
/// devices, and of two gateways claiming a new device at once exactly the first wins; moving one is
/// <see cref="RehomeAsync"/>, for central staff.
/// </summary>
public sealed class DeviceBindingStore(StoreDatabase database)
{
    private const string Columns = "device_id, gateway_id, frame_key, profile, site_kind, lat, lon, address, district_code, bound_at";

    public Task<DeviceBinding?> FindAsync(uint deviceId, CancellationToken cancellationToken) =>
        database.ReadAsync((connection, ct) => FindAsync(connection, deviceId, "", ct), cancellationToken);

    public async Task<IReadOnlyList<DeviceBinding>> ListAsync(CancellationToken cancellationToken) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, $"SELECT {Columns} FROM device_bindings ORDER BY device_id;");
            return await ReadAllAsync(query, Read, ct);
        }, cancellationToken);

    /// <summary>Binds the device to <paramref name="gatewayId"/> unless another gateway holds it.</summary>
    public Task<BindingChange> BindDeviceAsync(
        string gatewayId, uint deviceId, byte[] frameKey, string profile, SiteInfo site, string districtCode, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var binding = new DeviceBinding(deviceId, gatewayId, frameKey, profile, site, districtCode, at);
        return database.WriteAsync(async (connection, ct) =>
        {
            // The insert decides the first binder in the database itself, whichever instance the claims reached.
            if (await ExecuteAsync(connection, $"""
                INSERT INTO device_bindings ({Columns})
                VALUES (@device, @gateway, @key, @profile, @kind, @lat, @lon, @address, @district, @bound)
                ON CONFLICT (device_id) DO NOTHING;
                """, ct, Parameters(binding)) == 1)
            {
                return BindingChange.Bound;
            }

            DeviceBinding existing = await FindAsync(connection, deviceId, database.Dialect.ForUpdate, ct)
                ?? throw new InvalidOperationException("binding of " + DeviceIdText.Format(deviceId) + " vanished");
            if (existing.GatewayId != gatewayId)
            {
                return BindingChange.BoundElsewhere;
            }

            if (existing.Profile == profile && existing.Site == site && existing.DistrictCode == districtCode &&
                CryptographicOperations.FixedTimeEquals(existing.FrameKey, frameKey))
            {
                return BindingChange.Unchanged;
            }

            await UpdateAsync(connection, binding with { BoundAt = existing.BoundAt }, ct);
            return BindingChange.Updated;
        }, cancellationToken);
    }

    /// <summary>Moves a device to another gateway (e.g. after its box was replaced); the previous binding, or null when unknown.</summary>
    public Task<DeviceBinding?> RehomeAsync(uint deviceId, string gatewayId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            DeviceBinding? existing = await FindAsync(connection, deviceId, database.Dialect.ForUpdate, ct);
            if (existing is not null)
            {
                await UpdateAsync(connection, existing with { GatewayId = gatewayId }, ct);
            }

            return existing;
        }, cancellationToken);

    private static async Task UpdateAsync(DbConnection connection, DeviceBinding binding, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, """
            UPDATE device_bindings SET gateway_id = @gateway, frame_key = @key, profile = @profile, site_kind = @kind, lat = @lat,
                lon = @lon, address = @address, district_code = @district, bound_at = @bound
            WHERE device_id = @device;
            """, cancellationToken, Parameters(binding));

    private static async Task<DeviceBinding?> FindAsync(DbConnection connection, uint deviceId, string lockClause, CancellationToken cancellationToken)
    {
        await using DbCommand query = Command(connection, $"SELECT {Columns} FROM device_bindings WHERE device_id = @device{lockClause};",
            ("device", DeviceIdText.Format(deviceId)));
        return await ReadFirstAsync(query, Read, cancellationToken);
    }

    private static (string, object?)[] Parameters(DeviceBinding binding) =>
    [
        ("device", DeviceIdText.Format(binding.DeviceId)),
        ("gateway", binding.GatewayId),
        ("key", Convert.ToHexString(binding.FrameKey)),
        ("profile", binding.Profile),
        ("kind", binding.Site.Kind),
        ("lat", binding.Site.Latitude),
        ("lon", binding.Site.Longitude),
        ("address", binding.Site.Address),
        ("district", binding.DistrictCode),
        ("bound", Text(binding.BoundAt)),
    ];

    private static DeviceBinding Read(DbDataReader r) => new(
        DeviceIdText.TryParse(r.GetString(0), out uint id) ? id : throw new InvalidDataException("bad device id in device_bindings"),
        r.GetString(1),
        Convert.FromHexString(r.GetString(2)),
        r.GetString(3),
        new SiteInfo(r.GetString(4), r.GetDouble(5), r.GetDouble(6), r.GetString(7)),
        r.GetString(8),
        Time(r.GetString(9)));
}
