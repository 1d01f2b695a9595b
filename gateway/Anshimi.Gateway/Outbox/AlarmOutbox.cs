using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Outbox;

/// <summary>
/// Forwards stored alarms to the cloud bridge as <see cref="AlarmEnvelope"/>s and sends each again,
/// with backoff, until the cloud's receipt removes its row. Rows live in SQLite, so a restart
/// resumes where the last run stopped.
/// </summary>
public sealed partial class AlarmOutbox(
    IMqttClient mqtt,
    AlarmStore store,
    OutboxSignal signal,
    RedeliveryPolicy retryPolicy,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    TimeProvider time,
    ILogger<AlarmOutbox> logger) : BackgroundService
{
    private const int BatchSize = 50;

    private static readonly TimeSpan IdleWait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan OfflineWait = TimeSpan.FromSeconds(2);

    private readonly string _gatewayId = options.Value.Id;

    /// <summary>
    /// Publishes the rows due now, oldest first, and schedules each one's resend. Stops at the first
    /// publish the broker refuses and returns how many went out.
    /// </summary>
    public async Task<int> PublishDueAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        IReadOnlyList<OutboxItem> due = await store.GetDueAsync(now, BatchSize, cancellationToken);
        int published = 0;
        foreach (OutboxItem item in due)
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
            metrics.OutboxPublished();
            if (attempts > 1)
            {
                LogResent(logger, item.Key.ToString(), attempts);
            }

            published++;
        }

        return published;
    }

    public AlarmEnvelope ToEnvelope(OutboxItem item) => new(
        Key: item.Key.ToString(),
        GatewayId: _gatewayId,
        DeviceId: DeviceIdText.Format(item.Key.DeviceId),
        Counter: item.Key.Counter,
        Event: new ContactIdEvent(item.EventCode, item.Qualifier, item.Zone),
        Profile: item.Profile,
        Site: item.Site,
        Test: item.Test,
        ReceivedAt: item.ReceivedAt,
        FrameHex: Convert.ToHexStringLower(item.Frame));

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
                await signal.WaitAsync(wait, stoppingToken);
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
            // A reconnect signals us; the timeout only bounds a missed signal.
            return OfflineWait;
        }

        int published = await PublishDueAsync(cancellationToken);
        if (published == BatchSize)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alarm {Key} not forwarded yet: {Error}")]
    private static partial void LogPublishFailed(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} sent upstream again (attempt {Attempts}, no receipt yet)")]
    private static partial void LogResent(ILogger logger, string key, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox forwarding failed; retrying")]
    private static partial void LogForwardFailed(ILogger logger, Exception exception);
}
