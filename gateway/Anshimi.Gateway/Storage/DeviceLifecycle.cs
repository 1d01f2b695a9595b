using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Storage;

/// <summary>
/// The installer's changes to the registry: claim, bind, replace, decommission, CSV import. Each is
/// one transaction; the in-memory registry follows after the commit. Keys are written, never read
/// back out of here.
/// </summary>
public sealed class DeviceLifecycle(GatewayDatabase database, DeviceRegistry registry)
{
    private static readonly byte[] Revoked = [];

    /// <summary>
    /// Stores a claimed device's key, profile and firmware. A device that is claimed but not yet
    /// active may be claimed again (new key; its first credentials may never have arrived).
    /// </summary>
    public async Task<RegistryChange> ClaimAsync(uint deviceId, byte[] key, string profile, string firmwareVersion, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = Command(connection, transaction, """
            INSERT INTO devices (id, key, profile, site_kind, site_lat, site_lon, site_address, state, firmware_version, claimed_at)
            VALUES ($id, $key, $profile, $unbound, 0, 0, '', $claimed, $firmware, $at)
            ON CONFLICT (id) DO UPDATE SET
                key = excluded.key, profile = excluded.profile, firmware_version = excluded.firmware_version,
                claimed_at = excluded.claimed_at
            WHERE devices.state = $claimed;
            """);
        command.Parameters.AddWithValue("$id", (long)deviceId);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$profile", profile);
        command.Parameters.AddWithValue("$unbound", DeviceState.UnboundSite);
        command.Parameters.AddWithValue("$claimed", DeviceState.Claimed);
        command.Parameters.AddWithValue("$firmware", firmwareVersion);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        int changed = await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (changed == 0)
        {
            return RegistryChange.Conflict;
        }

        await registry.RefreshAsync(deviceId, cancellationToken);
        return RegistryChange.Done;
    }

    /// <summary>Binds a claimed or active device to a site.</summary>
    public Task<RegistryChange> BindSiteAsync(uint deviceId, SiteBinding site, CancellationToken cancellationToken) =>
        ChangeLiveDeviceAsync(deviceId, (connection, transaction, ct) => WriteSiteAsync(connection, transaction, deviceId, site, ct), cancellationToken);

    /// <summary>
    /// Moves the site of <paramref name="oldId"/> to the claimed, unbound <paramref name="newId"/> and
    /// revokes the old device's key. The broker account is the caller's to delete.
    /// </summary>
    public async Task<(RegistryChange Change, string Reason)> ReplaceAsync(uint oldId, uint newId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        string? oldState = await StateOfAsync(connection, transaction, oldId, cancellationToken);
        string? newState = await StateOfAsync(connection, transaction, newId, cancellationToken);
        if (oldState is null || newState is null)
        {
            return (RegistryChange.NotFound, DeviceIdText.Format(oldState is null ? oldId : newId));
        }

        if (oldId == newId || !IsLive(oldState) || newState != DeviceState.Claimed)
        {
            return (RegistryChange.Conflict, "old device must be claimed or active (" + oldState + "), new device claimed and unbound (" + newState + ")");
        }

        await using (SqliteCommand move = Command(connection, transaction, """
            UPDATE devices SET
                (site_kind, site_lat, site_lon, site_address, district_code, site_ref) =
                (SELECT site_kind, site_lat, site_lon, site_address, district_code, site_ref FROM devices WHERE id = $old)
            WHERE id = $new AND site_kind = $unbound;
            UPDATE devices SET state = $replaced, replaced_by = $new, key = $revoked WHERE id = $old;
            """))
        {
            move.Parameters.AddWithValue("$old", (long)oldId);
            move.Parameters.AddWithValue("$new", (long)newId);
            move.Parameters.AddWithValue("$unbound", DeviceState.UnboundSite);
            move.Parameters.AddWithValue("$replaced", DeviceState.Replaced);
            move.Parameters.AddWithValue("$revoked", Revoked);

            // Both statements count: two rows means the new device was unbound and took the site.
            if (await move.ExecuteNonQueryAsync(cancellationToken) != 2)
            {
                return (RegistryChange.Conflict, "new device is already bound to a site");
            }
        }

        await transaction.CommitAsync(cancellationToken);
        await registry.RefreshAsync(oldId, cancellationToken);
        await registry.RefreshAsync(newId, cancellationToken);
        return (RegistryChange.Done, "");
    }

    /// <summary>Takes a device out of service and revokes its key.</summary>
    public Task<RegistryChange> DecommissionAsync(uint deviceId, CancellationToken cancellationToken) =>
        ChangeLiveDeviceAsync(deviceId, (connection, transaction, ct) => WriteDecommissionedAsync(connection, transaction, deviceId, ct), cancellationToken);

    /// <summary>
    /// Applies site rows in one transaction: all or nothing. Returns the index of the first row whose
    /// device is not claimed or active (nothing written), or -1 when every row was applied.
    /// </summary>
    public async Task<int> ImportSitesAsync(IReadOnlyList<(uint DeviceId, SiteBinding Site)> rows, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        for (int i = 0; i < rows.Count; i++)
        {
            string? state = await StateOfAsync(connection, transaction, rows[i].DeviceId, cancellationToken);
            if (state is null || !IsLive(state))
            {
                await transaction.RollbackAsync(cancellationToken);
                return i;
            }

            await WriteSiteAsync(connection, transaction, rows[i].DeviceId, rows[i].Site, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        foreach ((uint deviceId, _) in rows)
        {
            await registry.RefreshAsync(deviceId, cancellationToken);
        }

        return -1;
    }

    /// <summary>Every row, by device id. No keys.</summary>
    public async Task<IReadOnlyList<DeviceRow>> ListAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, state, profile, firmware_version, site_kind, site_lat, site_lon, site_address, district_code,
                   site_ref, last_seen, claimed_at, replaced_by, battery_percent, health_flags
            FROM devices ORDER BY id;
            """;
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<DeviceRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeviceRow(
                DeviceIdText.Format((uint)reader.GetInt64(0)),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                new SiteInfo(reader.GetString(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetString(7)),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
                reader.IsDBNull(11) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
                reader.IsDBNull(12) ? null : DeviceIdText.Format((uint)reader.GetInt64(12)),
                reader.IsDBNull(13) ? null : reader.GetInt32(13),
                reader.GetInt32(14)));
        }

        return rows;
    }

    /// <summary>Alarms stored as walk-test alarms for a device since <paramref name="since"/>: (counter, event code).</summary>
    public async Task<IReadOnlyList<(uint Counter, int EventCode, DateTimeOffset At)>> TestAlarmsSinceAsync(uint deviceId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT counter, event_code, received_at FROM alarms WHERE device_id = $id AND test = 1 AND received_at >= $since ORDER BY received_at;";
        command.Parameters.AddWithValue("$id", (long)deviceId);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var alarms = new List<(uint, int, DateTimeOffset)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            alarms.Add(((uint)reader.GetInt64(0), reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return alarms;
    }

    /// <summary>
    /// Applies <paramref name="write"/> to a claimed or active device in one transaction, then refreshes the
    /// registry's copy; a missing or retired device is left untouched.
    /// </summary>
    private async Task<RegistryChange> ChangeLiveDeviceAsync(
        uint deviceId, Func<SqliteConnection, SqliteTransaction, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        string? state = await StateOfAsync(connection, transaction, deviceId, cancellationToken);
        if (state is null)
        {
            return RegistryChange.NotFound;
        }

        if (!IsLive(state))
        {
            return RegistryChange.Conflict;
        }

        await write(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await registry.RefreshAsync(deviceId, cancellationToken);
        return RegistryChange.Done;
    }

    private static bool IsLive(string state) => state is DeviceState.Claimed or DeviceState.Active;

    private static async Task<string?> StateOfAsync(SqliteConnection connection, SqliteTransaction transaction, uint deviceId, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(connection, transaction, "SELECT state FROM devices WHERE id = $id;");
        command.Parameters.AddWithValue("$id", (long)deviceId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task WriteSiteAsync(SqliteConnection connection, SqliteTransaction transaction, uint deviceId, SiteBinding site, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(connection, transaction, """
            UPDATE devices SET site_kind = $kind, site_lat = $lat, site_lon = $lon, site_address = $address,
                               district_code = $district, site_ref = $ref
            WHERE id = $id;
            """);
        command.Parameters.AddWithValue("$id", (long)deviceId);
        command.Parameters.AddWithValue("$kind", site.Kind);
        command.Parameters.AddWithValue("$lat", site.Latitude);
        command.Parameters.AddWithValue("$lon", site.Longitude);
        command.Parameters.AddWithValue("$address", site.Address);
        command.Parameters.AddWithValue("$district", site.DistrictCode);
        command.Parameters.AddWithValue("$ref", site.Reference);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task WriteDecommissionedAsync(SqliteConnection connection, SqliteTransaction transaction, uint deviceId, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = Command(connection, transaction, "UPDATE devices SET state = $state, key = $revoked WHERE id = $id;");
        command.Parameters.AddWithValue("$state", DeviceState.Decommissioned);
        command.Parameters.AddWithValue("$revoked", Revoked);
        command.Parameters.AddWithValue("$id", (long)deviceId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
