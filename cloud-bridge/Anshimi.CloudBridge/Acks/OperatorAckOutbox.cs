using System.Threading.Channels;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Acks;

/// <summary>
/// Carries operator acknowledgements to their gateways: sends each stored ack-outbox row and
/// re-sends it by <see cref="RedeliveryPolicy"/> until the gateway answers <c>ack-relayed</c>.
/// Rows live in the <see cref="AlarmStore"/>, so a restart resumes where it stopped; each pass claims the rows it
/// sends, so bridge instances sharing a database never both send one; a dead instance's claims pass to the others when its
/// <see cref="InstanceLease"/> runs out.
/// </summary>
public sealed partial class OperatorAckOutbox : BackgroundService
{
    private const int BatchSize = 20;
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(30);

    private readonly MqttSession _mqtt;
    private readonly AlarmStore _store;
    private readonly RedeliveryPolicy _policy;
    private readonly CloudBridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OperatorAckOutbox> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _sendAllPending;

    // Names this instance as the owner of its claims (a restart takes them back at once) and says how long it may still send them.
    private readonly InstanceLease _lease;

    public OperatorAckOutbox(
        MqttSession mqtt,
        AlarmStore store,
        RedeliveryPolicy policy,
        IOptions<CloudBridgeOptions> options,
        InstanceLease lease,
        TimeProvider time,
        ILogger<OperatorAckOutbox> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _lease = lease;
        _mqtt = mqtt;
        _store = store;
        _policy = policy;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>A new row was stored: send it now rather than at the next scheduled look.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _mqtt.StateChanged += OnStateChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                TimeSpan wait;
                try
                {
                    wait = await SendDueAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogOutboxFailed(_logger, ex);
                    wait = _policy.Initial;
                }

                await WaitAsync(wait, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _mqtt.StateChanged -= OnStateChanged;
        }
    }

    /// <summary>Sends what is due; returns how long the outbox may sleep.</summary>
    private async Task<TimeSpan> SendDueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Right after a reconnect everything pending goes out at once instead of waiting out its backoff.
            bool all = Interlocked.Exchange(ref _sendAllPending, 0) == 1;
            DateTimeOffset now = _time.GetUtcNow();
            // Claimed so another bridge instance leaves these rows alone while this one sends them. Kept short: should a
            // slow batch outlast it, another instance may send a row again, which the gateway takes as the repeat it handles.
            IReadOnlyList<PendingAck> due = await _store.ClaimDueAcksAsync(
                _lease.Instance, all ? DateTimeOffset.MaxValue : now, now, _options.PublishTimeout * 2, BatchSize, cancellationToken);
            foreach (PendingAck ack in due)
            {
                if (!await SendAsync(ack, cancellationToken))
                {
                    return _policy.Initial;
                }
            }

            if (due.Count < BatchSize)
            {
                break;
            }
        }

        DateTimeOffset? next = await _store.NextAckDueAsync(cancellationToken);
        if (next is null)
        {
            // Another instance's new row wakes only that instance: look again within a lease, so a row it claimed and
            // could not send before it died is found within about two leases.
            return _lease.IsShared ? _options.InstanceLease : IdleWait;
        }

        TimeSpan untilNext = next.Value - _time.GetUtcNow();
        return untilNext < TimeSpan.Zero ? TimeSpan.Zero : untilNext;
    }

    /// <summary>One send of a claimed row; false when this instance's lease has run out and the row is left to another.</summary>
    private async Task<bool> SendAsync(PendingAck ack, CancellationToken cancellationToken)
    {
        // Past this instance's lease another instance may already be sending the row: leave it to them. A send is cut off
        // when the lease runs out, so it does not overlap theirs.
        TimeSpan remaining = _lease.Remaining(_time.GetUtcNow());
        if (remaining == TimeSpan.Zero)
        {
            LogLeaseLapsed(_logger, ack.Stage, ack.Key);
            return false;
        }

        var envelope = new OperatorAckEnvelope(ack.Key, ack.Stage, ack.Operator, ack.At);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(remaining == Timeout.InfiniteTimeSpan || remaining > _options.PublishTimeout ? _options.PublishTimeout : remaining);
            try
            {
                await _mqtt.PublishAsync(Topics.GatewayCommands(ack.GatewayId), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, timeout.Token);
                LogSent(_logger, ack.Stage, ack.Key, ack.GatewayId, ack.Attempts + 1);
            }
            catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogSendFailed(_logger, ack.Stage, ack.Key, ex.Message);
            }
        }

        int attempts = ack.Attempts + 1;
        await _store.RecordAckAttemptAsync(ack.Key, ack.Stage, attempts, _time.GetUtcNow() + _policy.DelayAfter(attempts), cancellationToken);
        return true;
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(wait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _wake.Reader.WaitToReadAsync(linked.Token);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        if (e.State == MqttConnectionState.Connected)
        {
            Interlocked.Exchange(ref _sendAllPending, 1);
            Wake();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Stage} for {Key} to gateway {Gateway} (attempt {Attempt})")]
    private static partial void LogSent(ILogger logger, string stage, string key, string gateway, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Stage} for {Key} failed: {Reason}; will retry")]
    private static partial void LogSendFailed(ILogger logger, string stage, string key, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not sending {Stage} for {Key}: this instance's lease has run out, another instance takes it")]
    private static partial void LogLeaseLapsed(ILogger logger, string stage, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ack outbox pass failed; retrying")]
    private static partial void LogOutboxFailed(ILogger logger, Exception exception);
}
