using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Snapshots;

/// <summary>
/// Forwards completed alarm snapshots to the cloud bridge as <see cref="SnapshotEnvelope"/>s, keyed by the
/// alarm they belong to (<c>DEVICEID:snapshotId</c>), and sends each again with backoff until the cloud's
/// <see cref="SnapshotReceiptEnvelope"/>. Rows live in SQLite, so a restart resumes them.
/// </summary>
public sealed class SnapshotOutbox : OutboxWorker<SnapshotOutboxItem>
{
    public const string JpegContentType = "image/jpeg";

    private readonly SnapshotStore _store;
    private readonly SnapshotMetrics _metrics;
    private readonly OutboxSignal _signal;

    public SnapshotOutbox(
        [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt, SnapshotStore store, RedeliveryPolicy retryPolicy, IOptions<GatewayOptions> options, SnapshotMetrics metrics, TimeProvider time, ILogger<SnapshotOutbox> logger)
        : this(mqtt, store, new OutboxSignal(), retryPolicy, options, metrics, time, logger)
    {
    }

    private SnapshotOutbox(
        MqttSession mqtt, SnapshotStore store, OutboxSignal signal, RedeliveryPolicy retryPolicy, IOptions<GatewayOptions> options, SnapshotMetrics metrics, TimeProvider time, ILogger<SnapshotOutbox> logger)
        : base(mqtt, signal, retryPolicy, options.Value.Id, time, logger)
    {
        _store = store;
        _metrics = metrics;
        _signal = signal;
    }

    // Images are large: a few per round keeps a burst from holding the broker connection.
    protected override int BatchSize => 4;

    public void Notify() => _signal.Notify();

    public override Envelope ToEnvelope(SnapshotOutboxItem row) => new SnapshotEnvelope(
        Key: row.Key.ToString(),
        GatewayId: GatewayId,
        DeviceId: DeviceIdText.Format(row.Key.DeviceId),
        Event: row.Event,
        TakenAt: row.TakenAt,
        ContentType: JpegContentType,
        Sha256Hex: row.Sha256Hex,
        Data: row.Image);

    protected override Task<IReadOnlyList<SnapshotOutboxItem>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _store.GetDueAsync(now, limit, cancellationToken);

    protected override Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        _store.RecordAttemptAsync(sequence, attempts, nextAttemptAt, cancellationToken);

    protected override Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken) => _store.GetNextDueAsync(cancellationToken);

    protected override void OnPublished(SnapshotOutboxItem row) => _metrics.Published();
}
