using System.Globalization;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Health;

/// <summary>A trouble the gateway raised about a device, queued for upstream until the cloud's receipt.</summary>
public sealed record TroubleRow(
    long Sequence,
    string Key,
    uint DeviceId,
    ushort Code,
    byte Qualifier,
    DateTimeOffset DetectedAt,
    int Attempts,
    string Profile,
    SiteInfo Site) : IOutboxRow;

/// <summary>
/// Device health and gateway-raised troubles in the gateway's SQLite file. A trouble row and the
/// silent flag it implies are written in one transaction, so after a crash the two always agree.
/// </summary>
public sealed class HealthStore(GatewayDatabase database, IOptions<GatewayOptions> options)
{
    /// <summary>Reason a trouble was dropped: a later one of the same device, condition and qualifier is kept.</summary>
    public const string Superseded = "superseded";

    /// <summary>Reason a trouble was dropped: nothing was superseded, so the oldest went.</summary>
    public const string Oldest = "oldest";

    private readonly int _maxPending = options.Value.MaxPendingTroubles;

    private const string Upsert = """
        INSERT INTO device_health (device_id, silent, low_battery, tamper, mains_lost, lamp_fault, battery_percent, updated_at)
        VALUES ($device, $silent, $low, $tamper, $mains, $lamp, $battery, $at)
        ON CONFLICT (device_id) DO UPDATE SET
            silent = excluded.silent, low_battery = excluded.low_battery, tamper = excluded.tamper,
            mains_lost = excluded.mains_lost, lamp_fault = excluded.lamp_fault,
            battery_percent = excluded.battery_percent, updated_at = excluded.updated_at;
        """;

    public async Task<Dictionary<uint, DeviceHealth>> LoadAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT device_id, silent, low_battery, tamper, mains_lost, lamp_fault, battery_percent FROM device_health;";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var health = new Dictionary<uint, DeviceHealth>();
        while (await reader.ReadAsync(cancellationToken))
        {
            health[(uint)reader.GetInt64(0)] = new DeviceHealth(
                reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetBoolean(5),
                reader.IsDBNull(6) ? null : reader.GetInt32(6));
        }

        return health;
    }

    /// <summary>Writes the current health of the given devices in one transaction.</summary>
    public async Task SaveAsync(IReadOnlyCollection<KeyValuePair<uint, DeviceHealth>> health, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Upsert;
        foreach (KeyValuePair<uint, DeviceHealth> pair in health)
        {
            command.Parameters.Clear();
            AddHealth(command, pair.Key, pair.Value, at);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Queues a trouble (or its restore) for upstream together with the health it leaves the device in. Past
    /// <see cref="GatewayOptions.MaxPendingTroubles"/> unsent rows, the same transaction drops the oldest row that a later
    /// one of the same device, code and qualifier supersedes, else the oldest; returns the reasons of what it dropped.
    /// </summary>
    public async Task<IReadOnlyList<string>> RecordTroubleAsync(uint deviceId, ushort code, byte qualifier, DeviceHealth health, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO troubles (device_id, code, qualifier, detected_at, next_attempt_at) VALUES ($device, $code, $qualifier, $at, $at);" + Upsert;
        AddHealth(command, deviceId, health, at);
        command.Parameters.AddWithValue("$code", (int)code);
        command.Parameters.AddWithValue("$qualifier", (int)qualifier);
        await command.ExecuteNonQueryAsync(cancellationToken);
        List<string> dropped = await DropBeyondBoundAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return dropped;
    }

    private async Task<List<string>> DropBeyondBoundAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        var dropped = new List<string>();
        await using SqliteCommand count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = "SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL;";
        long excess = (long)(await count.ExecuteScalarAsync(cancellationToken))! - _maxPending;
        await using SqliteCommand drop = connection.CreateCommand();
        drop.Transaction = transaction;
        for (; excess > 0; excess--)
        {
            // A later onset (or restore) of the same condition stands for this one: the cloud still hears that it
            // happened and that it ended.
            drop.CommandText = """
                DELETE FROM troubles WHERE seq = (
                    SELECT t.seq FROM troubles t
                    WHERE t.next_attempt_at IS NOT NULL AND EXISTS (
                        SELECT 1 FROM troubles later
                        WHERE later.next_attempt_at IS NOT NULL AND later.device_id = t.device_id AND later.code = t.code
                              AND later.qualifier = t.qualifier AND later.seq > t.seq)
                    ORDER BY t.seq LIMIT 1);
                """;
            if (await drop.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                dropped.Add(Superseded);
                continue;
            }

            drop.CommandText = "DELETE FROM troubles WHERE seq = (SELECT min(seq) FROM troubles WHERE next_attempt_at IS NOT NULL);";
            await drop.ExecuteNonQueryAsync(cancellationToken);
            dropped.Add(Oldest);
        }

        return dropped;
    }

    public async Task<IReadOnlyList<TroubleRow>> GetDueAsync(string gatewayId, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.seq, t.device_id, t.code, t.qualifier, t.detected_at, t.attempts,
                   coalesce(d.profile, 'unknown'), coalesce(d.site_kind, 'unknown'), coalesce(d.site_lat, 0),
                   coalesce(d.site_lon, 0), coalesce(d.site_address, '')
            FROM troubles t LEFT JOIN devices d ON d.id = t.device_id
            WHERE t.next_attempt_at IS NOT NULL AND t.next_attempt_at <= $now
            ORDER BY t.seq
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", limit);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<TroubleRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            long sequence = reader.GetInt64(0);
            rows.Add(new TroubleRow(
                sequence,
                TroubleKey.Format(gatewayId, sequence),
                (uint)reader.GetInt64(1),
                (ushort)reader.GetInt32(2),
                (byte)reader.GetInt32(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                reader.GetInt32(5),
                reader.GetString(6),
                new SiteInfo(reader.GetString(7), reader.GetDouble(8), reader.GetDouble(9), reader.GetString(10))));
        }

        return rows;
    }

    public async Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE troubles SET attempts = $attempts, next_attempt_at = $next WHERE seq = $seq AND next_attempt_at IS NOT NULL;";
        command.Parameters.AddWithValue("$attempts", attempts);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seq", sequence);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The cloud has the trouble: it leaves the outbox. False when no such trouble awaits a receipt.</summary>
    public async Task<bool> RecordReceiptAsync(long sequence, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE troubles SET receipted_at = $at, next_attempt_at = NULL WHERE seq = $seq AND next_attempt_at IS NOT NULL;";
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$seq", sequence);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Deletes troubles the cloud has that were detected before <paramref name="before"/>; returns how many.</summary>
    public async Task<int> PurgeTroublesAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "DELETE FROM troubles WHERE receipted_at IS NOT NULL AND detected_at < $before;";
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task MakeAllDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "UPDATE troubles SET next_attempt_at = $now WHERE next_attempt_at > $now;";
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT min(next_attempt_at) FROM troubles WHERE next_attempt_at IS NOT NULL;";
        object? value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>Troubles not yet receipted, for the outbox-depth gauge.</summary>
    public int CountPending()
    {
        using SqliteConnection connection = database.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM troubles WHERE next_attempt_at IS NOT NULL;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void AddHealth(SqliteCommand command, uint deviceId, DeviceHealth health, DateTimeOffset at)
    {
        command.Parameters.AddWithValue("$device", (long)deviceId);
        command.Parameters.AddWithValue("$silent", health.Silent);
        command.Parameters.AddWithValue("$low", health.LowBattery);
        command.Parameters.AddWithValue("$tamper", health.Tamper);
        command.Parameters.AddWithValue("$mains", health.MainsLost);
        command.Parameters.AddWithValue("$lamp", health.LampFault);
        command.Parameters.AddWithValue("$battery", (object?)health.BatteryPercent ?? DBNull.Value);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
    }
}

/// <summary>
/// Keys of gateway-raised troubles: <c>{gatewayId}/{sequence}</c>. The slash cannot occur in a device alarm key
/// (<c>DEVICEID:counter</c>) nor in a gateway id, so the two key spaces never meet.
/// </summary>
public static class TroubleKey
{
    public static string Format(string gatewayId, long sequence) => gatewayId + "/" + sequence.ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(string? key, string gatewayId, out long sequence)
    {
        sequence = 0;
        return key is not null
            && key.Length > gatewayId.Length + 1
            && key.StartsWith(gatewayId + "/", StringComparison.Ordinal)
            && long.TryParse(key.AsSpan(gatewayId.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
            && sequence > 0;
    }
}
