using Anshimi.Gateway.Diagnostics;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Outbox;

/// <summary>One row of a durable outbox: its sequence, how often it went out, and the envelope it carries.</summary>
public interface IOutboxRow
{
    long Sequence { get; }

    int Attempts { get; }

    /// <summary>The idempotency key the cloud's receipt names, for logs.</summary>
    string Key { get; }
}

/// <summary>
/// The loop every durable upstream outbox shares: publish the rows due now on the gateway's events topic,
/// schedule each one's resend by the redelivery policy, and sleep until the next row falls due or a
/// signal (new row, reconnect) arrives. Rows leave only through the cloud's receipt.
/// </summary>
public abstract partial class OutboxWorker<TRow>(
    MqttSession mqtt,
    OutboxSignal signal,
    RedeliveryPolicy retryPolicy,
    string gatewayId,
    TimeProvider time,
    ILogger logger) : BackgroundService
    where TRow : IOutboxRow
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan OfflineWait = TimeSpan.FromSeconds(2);

    protected string GatewayId { get; } = gatewayId;

    /// <summary>Rows published per round, before the worker looks again.</summary>
    protected virtual int BatchSize => 50;

    /// <summary>
    /// Publishes the rows due now, oldest first, and schedules each one's resend. Stops at the first
    /// publish the broker refuses and returns how many went out.
    /// </summary>
    public async Task<int> PublishDueAsync(CancellationToken cancellationToken)
    {
        await PrepareAsync(cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        IReadOnlyList<TRow> due = await GetDueAsync(now, BatchSize, cancellationToken);
        int published = 0;
        foreach (TRow row in due)
        {
            try
            {
                await mqtt.PublishAsync(Topics.GatewayEvents(GatewayId), EnvelopeSerializer.Serialize(ToEnvelope(row)), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttTransportException ex)
            {
                LogPublishFailed(logger, row.Key, ex.Message);
                break;
            }

            int attempts = row.Attempts + 1;
            await RecordAttemptAsync(row.Sequence, attempts, now + retryPolicy.DelayAfter(attempts), cancellationToken);
            OnPublished(row);
            if (attempts > 1)
            {
                LogResent(logger, row.Key, attempts);
            }

            published++;
        }

        return published;
    }

    /// <summary>
    /// Hands one row to the link at once, ahead of the worker's next round, without waiting for its PUBACK; returns when
    /// its resend falls due, or null when the link is not connected (the row stays due for the worker). A publish that
    /// fails later only leaves the row to that resend, and a reconnect makes every row due again.
    /// </summary>
    public DateTimeOffset? TryPublishNow(TRow row)
    {
        if (mqtt.State != MqttConnectionState.Connected)
        {
            return null;
        }

        Task<MqttTransportException?> answered = mqtt.StartPublish(
            Topics.GatewayEvents(GatewayId), EnvelopeSerializer.Serialize(ToEnvelope(row)), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);
        if (answered.IsCompleted && answered.Result is { } refused)
        {
            LogPublishFailed(logger, row.Key, refused.Message);
            return null;
        }

        string key = row.Key;
        answered.ContinueWith(
            done =>
            {
                if (done.Result is { } failed)
                {
                    LogPublishFailed(logger, key, failed.Message);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        OnPublished(row);
        return time.GetUtcNow() + retryPolicy.DelayAfter(row.Attempts + 1);
    }

    /// <summary>Turns a row into the envelope that goes upstream.</summary>
    public abstract Envelope ToEnvelope(TRow row);

    /// <summary>Work before each round, such as persisting rows queued in memory.</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract Task<IReadOnlyList<TRow>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    protected abstract Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken);

    protected abstract Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken);

    protected virtual void OnPublished(TRow row)
    {
    }

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
            await PrepareAsync(cancellationToken);
            return OfflineWait;
        }

        int published = await PublishDueAsync(cancellationToken);
        if (published == BatchSize)
        {
            return TimeSpan.Zero;
        }

        DateTimeOffset? next = await GetNextDueAsync(cancellationToken);
        if (next is null)
        {
            return IdleWait;
        }

        TimeSpan untilDue = next.Value - time.GetUtcNow();
        return untilDue <= TimeSpan.Zero ? OfflineWait : untilDue < IdleWait ? untilDue : IdleWait;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key} not forwarded yet: {Error}")]
    private static partial void LogPublishFailed(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key} sent upstream again (attempt {Attempts}, no receipt yet)")]
    private static partial void LogResent(ILogger logger, string key, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox forwarding failed; retrying")]
    private static partial void LogForwardFailed(ILogger logger, Exception exception);
}
