using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// Runs one delivery loop per upstream, so a receiver that is down never holds up the others. Each
/// loop sends that upstream's pending alarms one at a time, oldest first (a restore never overtakes
/// its alarm while the upstream is merely unreachable), settles each row when the upstream confirms it,
/// and after a transient fault waits by <see cref="RedeliveryPolicy"/> (doubling, capped; a webhook's
/// Retry-After within the cap) before trying the same alarm again. An alarm the upstream cannot take
/// (<see cref="DeliveryOutcome.Held"/>) stays pending with its reason and is passed over until the next
/// start, so it holds up nothing behind it. Rows are durable, so a restart resumes where it stopped; the rows this instance
/// holds (<see cref="UpstreamDeliveryStore.NextPendingAsync"/>) are handed back when it stops, and taken by the other
/// instances when its <see cref="InstanceLease"/> runs out; it delivers only while that lease holds.
/// </summary>
public sealed partial class UpstreamDispatcher : BackgroundService
{
    private readonly IReadOnlyList<IUpstream> _upstreams;
    private readonly UpstreamDeliveryStore _deliveries;
    private readonly AlarmStore _alarms;
    private readonly UpstreamWake _wake;
    private readonly InstanceLease _lease;
    private readonly RedeliveryPolicy _policy;
    private readonly UpstreamsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UpstreamDispatcher> _logger;

    public UpstreamDispatcher(
        IEnumerable<IUpstream> upstreams,
        UpstreamDeliveryStore deliveries,
        AlarmStore alarms,
        UpstreamWake wake,
        InstanceLease lease,
        IOptions<UpstreamsOptions> options,
        TimeProvider time,
        ILogger<UpstreamDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _upstreams = upstreams.ToList();
        _deliveries = deliveries;
        _alarms = alarms;
        _wake = wake;
        _lease = lease;
        _options = options.Value;
        _policy = new RedeliveryPolicy(_options.RetryInterval, _options.RetryMaxInterval);
        _time = time;
        _logger = logger;
        Statuses = _upstreams.Select(u => new UpstreamStatus(u.Name, u.Kind, time)).ToList();
    }

    /// <summary>One per upstream, in configuration order.</summary>
    public IReadOnlyList<UpstreamStatus> Statuses { get; }

    public IReadOnlyList<IUpstream> Upstreams => _upstreams;

    /// <summary>The wait before the next attempt after <paramref name="consecutiveFailures"/> transient faults in a row.</summary>
    public static TimeSpan Backoff(RedeliveryPolicy policy, int consecutiveFailures, TimeSpan? retryAfter)
    {
        ArgumentNullException.ThrowIfNull(policy);
        TimeSpan delay = policy.DelayAfter(consecutiveFailures);
        if (retryAfter is { } wish && wish > delay)
        {
            delay = wish < policy.Max ? wish : policy.Max;
        }

        return delay;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_upstreams.Select((u, i) => Task.WhenAll(
            DeliverLoopAsync(u, Statuses[i], stoppingToken),
            RunDutyAsync(u, Statuses[i], stoppingToken))));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (IUpstream upstream in _upstreams)
        {
            await upstream.DisposeAsync();
        }

        // Handed back at once, so a restarted or another instance need not wait for the leases to run out.
        try
        {
            await _deliveries.ReleaseLeasesAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or OperationCanceledException)
        {
            LogLeasesKept(_logger, ex.Message);
        }
    }

    private async Task DeliverLoopAsync(IUpstream upstream, UpstreamStatus status, CancellationToken cancellationToken)
    {
        int failuresInRow = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Taken before looking, so an alarm committed after the look still wakes us.
                Task woken = _wake.NextAsync();
                PendingDelivery? next = await _deliveries.NextPendingAsync(upstream.Name, status.Held, cancellationToken);
                if (next is null)
                {
                    if (status.Snapshot().State != UpstreamState.Idle)
                    {
                        status.Set(UpstreamState.Idle, "nothing waiting");
                    }

                    await Task.WhenAny(woken, Task.Delay(_options.IdlePollInterval, _time, cancellationToken));
                    continue;
                }

                if (_lease.Remaining(_time.GetUtcNow()) == TimeSpan.Zero)
                {
                    // Another instance may be delivering what this one holds: wait for the lease to be renewed.
                    status.Set(UpstreamState.Retrying, "instance lease not renewed; deliveries left to the other instances");
                    await Task.Delay(_policy.Initial, _time, cancellationToken);
                    continue;
                }

                TimeSpan? wait = await DeliverAsync(upstream, status, next, failuresInRow, cancellationToken);
                if (wait is null)
                {
                    failuresInRow = 0;
                    continue;
                }

                failuresInRow++;
                await Task.Delay(wait.Value, _time, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store itself failed (disk, lock): the rows are still there; look again after a pause.
                LogLoopFailed(_logger, ex, upstream.Name);
                status.Set(UpstreamState.Retrying, "outbox error: " + ex.Message);
                await Task.Delay(_policy.Initial, _time, cancellationToken);
            }
        }
    }

    /// <summary>One attempt; null when settled, otherwise how long to wait before the next.</summary>
    private async Task<TimeSpan?> DeliverAsync(IUpstream upstream, UpstreamStatus status, PendingDelivery next, int failuresInRow, CancellationToken cancellationToken)
    {
        AlarmRecord? alarm = await _alarms.FindAsync(next.AlarmKey, cancellationToken);
        if (alarm is null)
        {
            // Purged by retention before it could go out: nothing left to send.
            await _deliveries.SettleAsync(next.AlarmKey, upstream.Name, DeliveryState.Purged, "alarm no longer stored", _time.GetUtcNow(), cancellationToken);
            return null;
        }

        if (failuresInRow == 0)
        {
            // After a failure the state stays "retrying" with its reason until an attempt succeeds.
            status.Set(UpstreamState.Delivering, $"sending {next.AlarmKey} (attempt {next.Attempts + 1})");
        }

        DeliveryResult result;
        try
        {
            result = await upstream.DeliverAsync(alarm, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result = DeliveryResult.Transient("unexpected error: " + ex.Message);
        }

        switch (result.Outcome)
        {
            case DeliveryOutcome.Delivered:
                await _deliveries.SettleAsync(next.AlarmKey, upstream.Name, DeliveryState.Delivered, result.Detail, _time.GetUtcNow(), cancellationToken);
                status.CountDelivered();
                status.Set(UpstreamState.Idle, $"delivered {next.AlarmKey}: {result.Detail}");
                LogDelivered(_logger, next.AlarmKey, upstream.Name, next.Attempts + 1);
                return null;
            case DeliveryOutcome.Held:
                await _deliveries.RecordFailureAsync(next.AlarmKey, upstream.Name, result.Detail, cancellationToken);
                status.Hold(next.AlarmKey);
                status.Set(UpstreamState.Idle, $"holding {next.AlarmKey}: {result.Detail}");
                LogHeld(_logger, next.AlarmKey, upstream.Name, result.Detail);
                return null;
            default:
                await _deliveries.RecordFailureAsync(next.AlarmKey, upstream.Name, result.Detail, cancellationToken);
                status.CountFailedAttempt();
                TimeSpan wait = Backoff(_policy, failuresInRow + 1, result.RetryAfter);
                status.Set(UpstreamState.Retrying, result.Detail, _time.GetUtcNow() + wait);
                LogTransient(_logger, next.AlarmKey, upstream.Name, result.Detail, wait);
                return wait;
        }
    }

    private async Task RunDutyAsync(IUpstream upstream, UpstreamStatus status, CancellationToken cancellationToken)
    {
        try
        {
            await upstream.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogDutyFailed(_logger, ex, upstream.Name);
            status.Set(UpstreamState.Retrying, "background duty stopped: " + ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} delivered to upstream {Upstream} (attempt {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string key, string upstream, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alarm {Key} cannot be taken by upstream {Upstream}: {Reason}; it stays pending and is offered again after a restart")]
    private static partial void LogHeld(ILogger logger, string key, string upstream, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alarm {Key} not delivered to upstream {Upstream}: {Reason}; retrying in {Wait}")]
    private static partial void LogTransient(ILogger logger, string key, string upstream, string reason, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivery loop of upstream {Upstream} failed; resuming")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string upstream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream delivery leases not released on stop ({Reason}); they run out by themselves")]
    private static partial void LogLeasesKept(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Background duty of upstream {Upstream} stopped")]
    private static partial void LogDutyFailed(ILogger logger, Exception exception, string upstream);
}
