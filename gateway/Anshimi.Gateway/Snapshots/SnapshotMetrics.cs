using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Snapshots;

/// <summary>Snapshot instruments, on the gateway's meter so the Prometheus endpoint shows them.</summary>
public sealed class SnapshotMetrics
{
    private readonly Counter<long> _chunks;
    private readonly Counter<long> _chunksDuplicate;
    private readonly Counter<long> _chunksRejected;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _expired;
    private readonly Counter<long> _published;
    private readonly Counter<long> _receipts;

    public SnapshotMetrics(GatewayMetrics metrics, GatewayDatabase database)
    {
        Meter meter = metrics.Meter;
        _chunks = meter.CreateCounter<long>("anshimi.gateway.snapshot.chunks", "{chunk}", description: "Snapshot chunks stored durably.");
        _chunksDuplicate = meter.CreateCounter<long>("anshimi.gateway.snapshot.chunks.duplicate", "{chunk}", description: "Resent snapshot chunks already held; not stored again.");
        _chunksRejected = meter.CreateCounter<long>("anshimi.gateway.snapshot.chunks.rejected", "{chunk}", description: "Snapshot chunks dropped, by reason.");
        _completed = meter.CreateCounter<long>("anshimi.gateway.snapshot.completed", "{snapshot}", description: "Snapshots reassembled, hash-checked, stored and confirmed to the doorbell.");
        _expired = meter.CreateCounter<long>("anshimi.gateway.snapshot.expired", "{snapshot}", description: "Incomplete snapshots given up after the configured time.");
        _published = meter.CreateCounter<long>("anshimi.gateway.snapshot.published", "{envelope}", description: "Snapshot envelopes published upstream, resends included.");
        _receipts = meter.CreateCounter<long>("anshimi.gateway.snapshot.receipts", "{receipt}", description: "Cloud snapshot receipts that cleared an outbox row.");

        // Rings are status events kept at the gateway (never sent to the control center); this is where they show.
        metrics.ObserveGauge("anshimi.gateway.doorbell.rings", "{ring}", "Doorbell rings stored at the gateway (kept local, not forwarded).", () => Count(database, "SELECT count(*) FROM alarms WHERE qualifier = 6 AND event_code = 901;"));
        metrics.ObserveGauge("anshimi.gateway.snapshot.outbox.depth", "{snapshot}", "Alarm snapshots stored but not yet receipted by the cloud.", () => Count(database, "SELECT count(*) FROM snapshot_outbox;"));
    }

    public void ChunkStored() => _chunks.Add(1);

    public void ChunkDuplicate() => _chunksDuplicate.Add(1);

    public void ChunkRejected(string reason) => _chunksRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Completed() => _completed.Add(1);

    public void Expired(int count) => _expired.Add(count);

    public void Published() => _published.Add(1);

    public void ReceiptApplied() => _receipts.Add(1);

    private static long Count(GatewayDatabase database, string sql)
    {
        using SqliteConnection connection = database.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
