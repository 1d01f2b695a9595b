using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Storage;

/// <summary>
/// A store restored from a backup is older than what the gateway last did: its downlink counters are behind counters
/// its devices and lights already accepted, so they would refuse every new ack and command as a replay, and the gateway
/// would sign different frames under counters already used. At startup, when the newest activity the store recorded
/// is more than <see cref="GatewayOptions.ResyncAfter"/> old (a restore, or a box that was off), every downlink counter
/// is raised to at least the current Unix second (protocol/README.md §2, "Counter floors across power loss"): above
/// every counter signed before, as long as the gateway signs at most one downlink per device per second on average.
/// Every version-2 device that hears its gateway over MQTT is also to be re-keyed to the epoch after the one its next
/// frame shows (<see cref="Pipeline.DeviceRekey"/>), so whatever it sent after the backup is stale_epoch from then on.
/// Runs before anything reads the counters.
/// </summary>
public sealed partial class StoreResynchronisation(GatewayDatabase database, TimeProvider time, IOptions<GatewayOptions> options, ILogger<StoreResynchronisation> logger)
{
    /// <summary>Raises the downlink counters when the store is stale; returns the floor applied, or null.</summary>
    public async Task<uint?> RunAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await database.OpenAsync(cancellationToken);
        await using SqliteTransaction transaction = GatewayDatabase.BeginWrite(connection);
        bool lights = await ExistsAsync(connection, transaction, "light_state", cancellationToken);

        await using SqliteCommand newest = connection.CreateCommand();
        newest.Transaction = transaction;
        newest.CommandText = "SELECT max(t) FROM (SELECT max(last_seen) AS t FROM devices UNION ALL SELECT max(received_at) FROM alarms"
            + (lights ? " UNION ALL SELECT max(heard_at) FROM light_state" : "") + ");";
        if (await newest.ExecuteScalarAsync(cancellationToken) is not long newestMs)
        {
            // Nothing was ever heard or stored: no counter can have been used.
            return null;
        }

        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset recorded = DateTimeOffset.FromUnixTimeMilliseconds(newestMs);
        if (now - recorded <= options.Value.ResyncAfter)
        {
            return null;
        }

        long floor = Math.Min(now.ToUnixTimeSeconds(), uint.MaxValue);
        await using SqliteCommand raise = connection.CreateCommand();
        raise.Transaction = transaction;
        raise.CommandText = "UPDATE devices SET downlink_counter = max(downlink_counter, $floor);"
            + " UPDATE devices SET rekey_epoch = " + Pipeline.DeviceRekey.AfterNextFrame + " WHERE frame_version = 2 AND profile NOT IN ("
            + string.Join(", ", Pipeline.DeviceRekey.BleOnly.Select(p => "'" + p + "'")) + ");"
            + (lights ? " UPDATE light_state SET downlink_reserved = max(downlink_reserved, $floor);" : "");
        raise.Parameters.AddWithValue("$floor", floor);
        await raise.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogResynchronised(logger, recorded, (uint)floor);
        return (uint)floor;
    }

    private static async Task<bool> ExistsAsync(SqliteConnection connection, SqliteTransaction transaction, string table, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name;";
        command.Parameters.AddWithValue("$name", table);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store's newest activity is from {Recorded:O} (restored from a backup, or the box was off): downlink counters raised to at least {Floor}")]
    private static partial void LogResynchronised(ILogger logger, DateTimeOffset recorded, uint floor);
}
