using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Pipeline;

/// <summary>
/// Signs ack frames and publishes them to devices' downlink topics, one at a time in the order they were handed
/// in. <see cref="Send"/> never makes its caller wait on the broker, so the alarm pipeline's one-at-a-time section
/// is never held while the broker is away. Each publish may take <see cref="GatewayOptions.AckTimeout"/>; an ack
/// the broker did not take is tried again after the reconnect policy's delay (at once when the broker session
/// comes back), re-signed with a fresh downlink counter so the device accepts it even after acks it heard over
/// BLE meanwhile, until it is published. At most <see cref="GatewayOptions.MaxPendingAcks"/> wait; a newer one
/// beyond that is dropped, counted and logged (its alarm is stored: the device's resend is acked again).
/// </summary>
public sealed partial class DeviceDownlink : IDisposable
{
    private readonly MqttSession _mqtt;
    private readonly AlarmStore _store;
    private readonly GatewayMetrics _metrics;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceDownlink> _logger;
    private readonly DownlinkSealer _sealer;
    private readonly ReconnectBackoff _retry;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly Queue<PendingAck> _queue = new();
    private bool _draining;
    private CancellationTokenSource? _retryWait;

    public DeviceDownlink(MqttSession mqtt, AlarmStore store, GatewayMetrics metrics, DownlinkSealer sealer, IOptions<GatewayOptions> options, TimeProvider time, ILogger<DeviceDownlink> logger)
    {
        _mqtt = mqtt;
        _sealer = sealer;
        _store = store;
        _metrics = metrics;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _retry = new ReconnectBackoff(new ReconnectBackoffOptions(), time: time);
        _mqtt.StateChanged += OnStateChanged;
        metrics.ObserveGauge("anshimi.gateway.acks.pending", "{frame}", "Ack frames waiting for the box broker to take them.", () => Pending);
    }

    /// <summary>Acks handed in and not yet published.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Queues Ack(<paramref name="stage"/>) for <paramref name="alarmCounter"/>, signed with <paramref name="downlinkCounter"/>,
    /// and returns at once. <paramref name="delivered"/> runs once the broker has taken it (failures are logged).
    /// </summary>
    public void Send(DeviceEntry device, uint downlinkCounter, uint alarmCounter, AckStage stage, Func<CancellationToken, Task>? delivered = null)
    {
        var ack = new PendingAck(device, alarmCounter, stage, Encode(device, downlinkCounter, alarmCounter, stage), delivered);
        bool start;
        lock (_lock)
        {
            if (_queue.Count >= _options.MaxPendingAcks)
            {
                _metrics.AckDropped();
                LogAckDropped(_logger, DeviceIdText.Format(device.Id), alarmCounter, _options.MaxPendingAcks);
                return;
            }

            _queue.Enqueue(ack);
            start = !_draining;
            _draining = true;

            // Behind another ack, its counter may be older than one that goes out first.
            ack.Resign = !start;
        }

        // Runs inline up to the first wait, so a broker that answers at once has the ack before Send returns.
        if (start)
        {
            _ = DrainAsync();
        }
    }

    public void Dispose()
    {
        _mqtt.StateChanged -= OnStateChanged;
        _stopping.Cancel();
    }

    private byte[] Encode(DeviceEntry device, uint downlinkCounter, uint alarmCounter, AckStage stage) =>
        _sealer.Seal(device, Frame.Ack(device.Id, downlinkCounter, alarmCounter, stage));

    private async Task DrainAsync()
    {
        CancellationToken stopping = _stopping.Token;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                PendingAck ack;
                lock (_lock)
                {
                    if (!_queue.TryPeek(out ack!))
                    {
                        _draining = false;
                        return;
                    }
                }

                if (await TryPublishAsync(ack, stopping))
                {
                    lock (_lock)
                    {
                        _queue.Dequeue();
                    }

                    _retry.Connected();
                    _metrics.AckSent(StageLabel.Of(ack.Stage));
                    if (ack.Delivered is { } delivered)
                    {
                        _ = RunDeliveredAsync(delivered, ack, stopping);
                    }
                }
                else
                {
                    await WaitToRetryAsync(stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down; the devices resend what was not acked.
        }
    }

    private async Task<bool> TryPublishAsync(PendingAck ack, CancellationToken stopping)
    {
        string deviceId = DeviceIdText.Format(ack.Device.Id);
        try
        {
            // A retry, or an ack that waited, may follow acks the device heard meanwhile (a retried one, or over BLE):
            // the device accepts only a counter above every one it has seen, so it is signed again with a fresh one.
            if (ack.Resign)
            {
                ack.Frame = Encode(ack.Device, await _store.TakeDownlinkCounterAsync(ack.Device.Id, stopping), ack.AlarmCounter, ack.Stage);
            }

            ack.Attempts++;
            using var timeout = new CancellationTokenSource(_options.AckTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
            try
            {
                await _mqtt.PublishAsync(Topics.DeviceDownlink(ack.Device.Id), ack.Frame, MqttQos.AtLeastOnce, retain: false, linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                throw new MqttTimeoutException($"the broker did not take it within {_options.AckTimeout.TotalSeconds:0.#} s");
            }

            if (ack.Attempts > 1)
            {
                LogAckRetried(_logger, deviceId, ack.AlarmCounter, ack.Attempts);
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // Whatever failed (the broker, the counter's store), the ack stays at the head and the drain goes on.
            if (ack.Attempts <= 1)
            {
                LogAckWaiting(_logger, deviceId, ack.AlarmCounter, ex.Message);
            }

            ack.Resign = true;
            return false;
        }
    }

    private async Task WaitToRetryAsync(CancellationToken stopping)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        lock (_lock)
        {
            _retryWait = wake;
        }

        try
        {
            await Task.Delay(_retry.NextDelay(), _time, wake.Token);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // The broker session is back: try now.
        }
        finally
        {
            lock (_lock)
            {
                _retryWait = null;
            }
        }
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        if (e.State != MqttConnectionState.Connected)
        {
            return;
        }

        CancellationTokenSource? waiting;
        lock (_lock)
        {
            waiting = _retryWait;
        }

        try
        {
            waiting?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The wait ended on its own.
        }
    }

    private async Task RunDeliveredAsync(Func<CancellationToken, Task> delivered, PendingAck ack, CancellationToken stopping)
    {
        try
        {
            await delivered(stopping);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            LogDeliveredFailed(_logger, ex, DeviceIdText.Format(ack.Device.Id), ack.AlarmCounter);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ack to {DeviceId} for alarm counter {Counter} not published yet, kept and retried: {Error}")]
    private static partial void LogAckWaiting(ILogger logger, string deviceId, uint counter, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ack to {DeviceId} for alarm counter {Counter} published at attempt {Attempts}")]
    private static partial void LogAckRetried(ILogger logger, string deviceId, uint counter, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ack to {DeviceId} for alarm counter {Counter} dropped: {Limit} acks already wait for the broker")]
    private static partial void LogAckDropped(ILogger logger, string deviceId, uint counter, int limit);

    [LoggerMessage(Level = LogLevel.Error, Message = "Follow-up of the ack to {DeviceId} for alarm counter {Counter} failed")]
    private static partial void LogDeliveredFailed(ILogger logger, Exception exception, string deviceId, uint counter);

    private sealed class PendingAck(DeviceEntry device, uint alarmCounter, AckStage stage, byte[] frame, Func<CancellationToken, Task>? delivered)
    {
        public DeviceEntry Device { get; } = device;

        public uint AlarmCounter { get; } = alarmCounter;

        public AckStage Stage { get; } = stage;

        public Func<CancellationToken, Task>? Delivered { get; } = delivered;

        public byte[] Frame { get; set; } = frame;

        public int Attempts { get; set; }

        public bool Resign { get; set; }
    }
}

/// <summary>Metric and log names of ack stages.</summary>
public static class StageLabel
{
    public static string Of(AckStage stage) => stage switch
    {
        AckStage.Received => "received",
        AckStage.OperatorAcknowledged => AckStageName.Acknowledged,
        AckStage.Resolved => AckStageName.Resolved,
        AckStage.SnapshotStored => "snapshot-stored",
        _ => "unknown",
    };
}
