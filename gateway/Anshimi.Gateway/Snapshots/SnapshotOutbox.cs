using Anshimi.Gateway.Outbox;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Snapshots;

/// <summary>
/// Forwards completed alarm snapshots to the cloud bridge as <see cref="SnapshotEnvelope"/>s, keyed by the
/// alarm they belong to (<c>DEVICEID:snapshotId</c>), and sends each again with backoff until the cloud's
/// <see cref="SnapshotReceiptEnvelope"/>. Rows live in SQLite, so a restart resumes them.
/// </summary>
public sealed partial class SnapshotOutbox(
    IMqttClient mqtt,
    SnapshotStore store,
    RedeliveryPolicy retryPolicy,
    IOptions<GatewayOptions> options,
    SnapshotMetrics metrics,
    TimeProvider time,
    ILogger<SnapshotOutbox> logger) : BackgroundService
{
    public const string JpegContentType = "image/jpeg";

    // Images are large: a few per round keeps a burst from holding the broker connection.
    private const int BatchSize = 4;

    private static readonly TimeSpan IdleWait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan OfflineWait = TimeSpan.FromSeconds(2);

    private readonly OutboxSignal _signal = new();
    private readonly string _gatewayId = options.Value.Id;

    public void Notify() => _signal.Notify();

    /// <summary>Publishes the snapshots due now, oldest first; stops at the first refused publish. Returns how many went out.</summary>
    public async Task<int> PublishDueAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        int published = 0;
        foreach (SnapshotOutboxItem item in await store.GetDueAsync(now, BatchSize, cancellationToken))
        {
            try
            {
                await mqtt.PublishAsync(Topics.GatewayEvents(_gatewayId), EnvelopeSerializer.Serialize(ToEnvelope(item)), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttException ex)
            {
                LogPublishFailed(logger, item.Key.ToString(), ex.Message);
                break;
            }

            int attempts = item.Attempts + 1;
            await store.RecordAttemptAsync(item.Sequence, attempts, now + retryPolicy.DelayAfter(attempts), cancellationToken);
            metrics.Published();
            published++;
        }

        return published;
    }

    public SnapshotEnvelope ToEnvelope(SnapshotOutboxItem item) => new(
        Key: item.Key.ToString(),
        GatewayId: _gatewayId,
        DeviceId: DeviceIdText.Format(item.Key.DeviceId),
        Event: item.Event,
        TakenAt: item.TakenAt,
        ContentType: JpegContentType,
        Sha256Hex: item.Sha256Hex,
        Data: item.Image);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogForwardFailed(logger, ex);
                wait = OfflineWait;
            }

            try
            {
                await _signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<TimeSpan> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (mqtt.State != MqttConnectionState.Connected)
        {
            return OfflineWait;
        }

        if (await PublishDueAsync(cancellationToken) == BatchSize)
        {
            return TimeSpan.Zero;
        }

        DateTimeOffset? next = await store.GetNextDueAsync(cancellationToken);
        if (next is null)
        {
            return IdleWait;
        }

        TimeSpan untilDue = next.Value - time.GetUtcNow();
        return untilDue <= TimeSpan.Zero ? OfflineWait : untilDue < IdleWait ? untilDue : IdleWait;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot {Key} not forwarded yet: {Error}")]
    private static partial void LogPublishFailed(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Snapshot forwarding failed; retrying")]
    private static partial void LogForwardFailed(ILogger logger, Exception exception);
}
