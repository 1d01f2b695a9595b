using System.Collections.Concurrent;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Storage;

/// <summary>
/// The devices this gateway accepts frames from: keys, installation site and replay counters. The
/// SQLite table is the truth; an in-memory copy serves the per-frame look-ups.
/// </summary>
public sealed class DeviceRegistry(GatewayDatabase database)
{
    private readonly ConcurrentDictionary<uint, DeviceEntry> _devices = new();
    private readonly Lock _activityLock = new();
    private Dictionary<uint, (uint Counter, DateTimeOffset At)> _pendingActivity = [];

    public int Count => _devices.Count;

    public bool TryGet(uint deviceId, out DeviceEntry device) => _devices.TryGetValue(deviceId, out device!);

    /// <summary>
    /// Inserts new devices and updates key, profile and site of known ones, keeping their counters
    /// (a reseed must never reopen old counters to replay). A replaced or decommissioned device
    /// stays revoked: a reseed does not bring its key back.
    /// </summary>
    public async Task SeedAsync(FleetFile fleet, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO devices (id, key, profile, site_kind, site_lat, site_lon, site_address, district_code)
            VALUES ($id, $key, $profile, $kind, $lat, $lon, $address, $district)
            ON CONFLICT (id) DO UPDATE SET
                key = excluded.key, profile = excluded.profile, site_kind = excluded.site_kind,
                site_lat = excluded.site_lat, site_lon = excluded.site_lon,
                site_address = excluded.site_address, district_code = excluded.district_code
            WHERE devices.state IN ('claimed', 'active');
            """;
        SqliteParameter id = command.Parameters.Add("$id", SqliteType.Integer);
        SqliteParameter key = command.Parameters.Add("$key", SqliteType.Blob);
        SqliteParameter profile = command.Parameters.Add("$profile", SqliteType.Text);
        SqliteParameter kind = command.Parameters.Add("$kind", SqliteType.Text);
        SqliteParameter lat = command.Parameters.Add("$lat", SqliteType.Real);
        SqliteParameter lon = command.Parameters.Add("$lon", SqliteType.Real);
        SqliteParameter address = command.Parameters.Add("$address", SqliteType.Text);
        SqliteParameter district = command.Parameters.Add("$district", SqliteType.Text);
        foreach (DeviceRecord device in fleet.Devices)
        {
            id.Value = (long)device.NumericId;
            key.Value = device.Key;
            profile.Value = device.Profile;
            kind.Value = device.Site.Kind;
            lat.Value = device.Site.Latitude;
            lon.Value = device.Site.Longitude;
            address.Value = device.Site.Address;
            district.Value = (object?)device.DistrictCode ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Loads every claimed or active device into memory; call after seeding and before the pipeline starts.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = EntryQuery + ";";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var loaded = new Dictionary<uint, DeviceEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            DeviceEntry device = ReadEntry(reader);
            loaded[device.Id] = device;
        }

        _devices.Clear();
        foreach (KeyValuePair<uint, DeviceEntry> pair in loaded)
        {
            _devices[pair.Key] = pair.Value;
        }
    }

    /// <summary>
    /// Brings one device's in-memory entry in line with its row after an installer change: adds a
    /// claimed device, takes a new site, drops a revoked one. Counters and last-seen never move back.
    /// </summary>
    public async Task RefreshAsync(uint deviceId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = EntryQuery + " AND id = $id;";
        command.Parameters.AddWithValue("$id", (long)deviceId);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            _devices.TryRemove(deviceId, out _);
            return;
        }

        DeviceEntry fresh = ReadEntry(reader);
        if (_devices.TryGetValue(deviceId, out DeviceEntry? old))
        {
            fresh.HighestCounter = Math.Max(fresh.HighestCounter, old.HighestCounter);
            fresh.HeartbeatCounter = Math.Max(fresh.HeartbeatCounter, old.HeartbeatCounter);
            fresh.LastSeen = old.LastSeen > fresh.LastSeen ? old.LastSeen : fresh.LastSeen;
            fresh.WalkTestUntil = old.WalkTestUntil;
            fresh.FrameVersion = old.FrameVersion;
            fresh.UplinkEpoch = Math.Max(fresh.UplinkEpoch, old.UplinkEpoch);
        }

        _devices[deviceId] = fresh;
    }

    /// <summary>Only devices holding a live key take part in the pipeline.</summary>
    private const string EntryQuery = """
        SELECT id, key, profile, site_kind, site_lat, site_lon, site_address, district_code,
               highest_counter, heartbeat_counter, last_seen, frame_version, uplink_epoch, rekey_epoch
        FROM devices WHERE state IN ('claimed', 'active')
        """;

    private static DeviceEntry ReadEntry(SqliteDataReader reader)
    {
        var site = new SiteInfo(reader.GetString(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetString(6));
        return new DeviceEntry((uint)reader.GetInt64(0), (byte[])reader[1], reader.GetString(2), site, reader.IsDBNull(7) ? null : reader.GetString(7))
        {
            HighestCounter = (uint)reader.GetInt64(8),
            HeartbeatCounter = (uint)reader.GetInt64(9),
            LastSeen = reader.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
            FrameVersion = (byte)reader.GetInt64(11),
            UplinkEpoch = (byte)reader.GetInt64(12),
            RekeyEpoch = (int)reader.GetInt64(13),
        };
    }

    /// <summary>
    /// Moves a device's version-2 uplinks to a higher key epoch (protocol/README.md §10, re-key) and records the frame
    /// version it speaks, durably, before the frame that moved it is acted on: the device's floors start empty in the
    /// new epoch, and every frame of an older epoch is stale_epoch from then on.
    /// </summary>
    public async Task MoveUplinkEpochAsync(DeviceEntry device, byte epoch, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            UPDATE devices SET uplink_epoch = $epoch, frame_version = 2, highest_counter = 0, heartbeat_counter = 0, purged_counter = 0
            WHERE id = $id AND uplink_epoch < $epoch;
            """;
        command.Parameters.AddWithValue("$id", (long)device.Id);
        command.Parameters.AddWithValue("$epoch", (long)epoch);
        await command.ExecuteNonQueryAsync(cancellationToken);
        device.UplinkEpoch = epoch;
        device.FrameVersion = 2;
        device.HighestCounter = 0;
        device.HeartbeatCounter = 0;
    }

    /// <summary>Records the key epoch the gateway asks the device to move to (0: none), durably.</summary>
    public async Task SetRekeyEpochAsync(DeviceEntry device, int epoch, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE devices SET rekey_epoch = $epoch WHERE id = $id;";
        command.Parameters.AddWithValue("$id", (long)device.Id);
        command.Parameters.AddWithValue("$epoch", (long)epoch);
        await command.ExecuteNonQueryAsync(cancellationToken);
        device.RekeyEpoch = epoch;
    }

    /// <summary>Records the frame version a device sent, when it changed: its downlinks follow it, and operators see who still speaks version 1.</summary>
    public async Task RecordFrameVersionAsync(DeviceEntry device, byte version, CancellationToken cancellationToken)
    {
        if (device.FrameVersion == version)
        {
            return;
        }

        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE devices SET frame_version = $version WHERE id = $id;";
        command.Parameters.AddWithValue("$id", (long)device.Id);
        command.Parameters.AddWithValue("$version", (long)version);
        await command.ExecuteNonQueryAsync(cancellationToken);
        device.FrameVersion = version;
    }

    /// <summary>Notes an accepted heartbeat in memory; <see cref="FlushActivityAsync"/> writes it later.</summary>
    public void RecordHeartbeat(DeviceEntry device, uint counter, DateTimeOffset at)
    {
        device.HeartbeatCounter = counter;
        device.LastSeen = at;
        lock (_activityLock)
        {
            _pendingActivity[device.Id] = (counter, at);
        }
    }

    /// <summary>
    /// Writes batched heartbeats in one transaction. Losing a batch to a crash is harmless: only
    /// last-seen and the heartbeat replay floor lag behind.
    /// </summary>
    public async Task<int> FlushActivityAsync(CancellationToken cancellationToken)
    {
        Dictionary<uint, (uint Counter, DateTimeOffset At)> batch;
        lock (_activityLock)
        {
            if (_pendingActivity.Count == 0)
            {
                return 0;
            }

            batch = _pendingActivity;
            _pendingActivity = [];
        }

        try
        {
            await WriteActivityAsync(batch, cancellationToken);
        }
        catch
        {
            // Put the batch back under anything newer, so the next flush writes it.
            lock (_activityLock)
            {
                foreach (KeyValuePair<uint, (uint Counter, DateTimeOffset At)> pair in batch)
                {
                    _pendingActivity.TryAdd(pair.Key, pair.Value);
                }
            }

            throw;
        }

        return batch.Count;
    }

    private async Task WriteActivityAsync(Dictionary<uint, (uint Counter, DateTimeOffset At)> batch, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE devices SET
                heartbeat_counter = max(heartbeat_counter, $counter),
                last_seen = max(coalesce(last_seen, 0), $at)
            WHERE id = $id;
            """;
        SqliteParameter id = command.Parameters.Add("$id", SqliteType.Integer);
        SqliteParameter counter = command.Parameters.Add("$counter", SqliteType.Integer);
        SqliteParameter at = command.Parameters.Add("$at", SqliteType.Integer);
        foreach (KeyValuePair<uint, (uint Counter, DateTimeOffset At)> pair in batch)
        {
            id.Value = (long)pair.Key;
            counter.Value = (long)pair.Value.Counter;
            at.Value = pair.Value.At.ToUnixTimeMilliseconds();
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Device id, profile and last-seen of each device, for status output (no keys).</summary>
    /// <summary>Every loaded device, unordered: what a heard version-2 BLE frame is resolved against.</summary>
    public ICollection<DeviceEntry> All => _devices.Values;

    public IReadOnlyList<DeviceEntry> Snapshot() => [.. _devices.Values.OrderBy(d => d.Id)];
}
