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
/// sends, so bridge instances sharing a database never both send one.
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

    // This instance's stable name, the owner of its claims: a restart takes them back at once.
    private readonly string _instance;

    public OperatorAckOutbox(
        MqttSession mqtt,
        AlarmStore store,
        RedeliveryPolicy policy,
        IOptions<CloudBridgeOptions> options,
        IOptions<MqttClientOptions> mqttOptions,
        TimeProvider time,
        ILogger<OperatorAckOutbox> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mqttOptions);
        _instance = mqttOptions.Value.ClientId!;
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
                _instance, all ? DateTimeOffset.MaxValue : now, now, _options.PublishTimeout * 2, BatchSize, cancellationToken);
            foreach (PendingAck ack in due)
            {
                await SendAsync(ack, cancellationToken);
            }

            if (due.Count < BatchSize)
            {
                break;
            }
        }

        DateTimeOffset? next = await _store.NextAckDueAsync(cancellationToken);
        if (next is null)
        {
            return IdleWait;
        }

        TimeSpan untilNext = next.Value - _time.GetUtcNow();
        return untilNext < TimeSpan.Zero ? TimeSpan.Zero : untilNext;
    }

    private async Task SendAsync(PendingAck ack, CancellationToken cancellationToken)
    {
        var envelope = new OperatorAckEnvelope(ack.Key, ack.Stage, ack.Operator, ack.At);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_options.PublishTimeout);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Ack outbox pass failed; retrying")]
    private static partial void LogOutboxFailed(ILogger logger, Exception exception);
}
