using System.Data.Common;
using Anshimi.CloudBridge.Storage;
using static Anshimi.CloudBridge.Storage.StoreDatabase;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>A gateway's escort key envelope of one rotation as last sent.</summary>
public sealed record EscortKeyDeliveryRecord(string GatewayId, long Rotation, string Contents, int Attempts, DateTimeOffset SentAt, DateTimeOffset? ReceiptedAt);

/// <summary>
/// Which escort key envelopes went to which gateway (table <c>escort_key_deliveries</c> in store file
/// <see cref="StoreFile.Escorts"/>): sending claims the row by its last send time, so of several bridge instances one
/// sends; a receipt ends the re-sending until the envelope's contents change.
/// </summary>
public sealed class EscortKeyDeliveryStore(StoreDatabase database)
{
    public Task<EscortKeyDeliveryRecord?> FindAsync(string gatewayId, long rotation, CancellationToken cancellationToken) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using DbCommand query = Command(connection, """
                SELECT gateway_id, rotation, contents, attempts, sent_at, receipted_at FROM escort_key_deliveries
                WHERE gateway_id = @gateway AND rotation = @rotation;
                """, ("gateway", gatewayId), ("rotation", rotation));
            return await ReadFirstAsync(query, Read, ct);
        }, cancellationToken);

    /// <summary>
    /// Records a send of <paramref name="contents"/> after <paramref name="previous"/> (null: never sent); false when another
    /// instance sent it meanwhile.
    /// </summary>
    public Task<bool> ClaimSendAsync(string gatewayId, long rotation, string contents, EscortKeyDeliveryRecord? previous, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
        {
            int attempts = previous is not null && previous.Contents == contents ? previous.Attempts + 1 : 1;
            if (previous is null)
            {
                return await ExecuteAsync(connection, """
                    INSERT INTO escort_key_deliveries (gateway_id, rotation, contents, attempts, sent_at, receipted_at)
                    VALUES (@gateway, @rotation, @contents, 1, @now, NULL) ON CONFLICT (gateway_id, rotation) DO NOTHING;
                    """, ct, ("gateway", gatewayId), ("rotation", rotation), ("contents", contents), ("now", Text(now))) == 1;
            }

            return await ExecuteAsync(connection, """
                UPDATE escort_key_deliveries SET contents = @contents, attempts = @attempts, sent_at = @now, receipted_at = NULL
                WHERE gateway_id = @gateway AND rotation = @rotation AND sent_at = @previous;
                """, ct, ("gateway", gatewayId), ("rotation", rotation), ("contents", contents), ("attempts", attempts),
                ("now", Text(now)), ("previous", Text(previous.SentAt))) == 1;
        }, cancellationToken);

    /// <summary>The gateway took the rotation's envelope; false when none was sent to it.</summary>
    public Task<bool> ReceiptAsync(string gatewayId, long rotation, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, """
                UPDATE escort_key_deliveries SET receipted_at = @at
                WHERE gateway_id = @gateway AND rotation = @rotation AND receipted_at IS NULL;
                """, ct, ("gateway", gatewayId), ("rotation", rotation), ("at", Text(at))) == 1,
            cancellationToken);

    /// <summary>
    /// The gateway came (back) online: it keeps deliveries in memory, so everything it receipted is sent to it again.
    /// </summary>
    public Task ForgetGatewayAsync(string gatewayId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, "DELETE FROM escort_key_deliveries WHERE gateway_id = @gateway;", ct, ("gateway", gatewayId)),
            cancellationToken);

    /// <summary>Drops the rows of rotations before <paramref name="rotation"/>: no light takes their keys any more.</summary>
    public Task PurgeBeforeAsync(long rotation, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, ct) =>
            await ExecuteAsync(connection, "DELETE FROM escort_key_deliveries WHERE rotation < @rotation;", ct, ("rotation", rotation)),
            cancellationToken);

    private static EscortKeyDeliveryRecord Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt64(1),
        reader.GetString(2),
        Convert.ToInt32(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture),
        Time(reader.GetString(4)),
        reader.IsDBNull(5) ? null : Time(reader.GetString(5)));
}
