using System.Threading.Channels;
using Anshimi.Ble;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Pipeline;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Ble;

/// <summary>
/// Runs the gateway's radio: opens the transport (retrying while the adapter is missing or fails), queues every
/// heard advertisement for <see cref="BleIngestion"/> (one consumer, round-robin per claimed device id with a budget each,
/// so a device or a sender posing as one that floods the air delays no other device's alarm), and every <see cref="BleOptions.Dwell"/> lets
/// the light fan-out tick and puts the next downlink frame on air. Tests drive the same steps one by one.
/// </summary>
public sealed partial class BleRadio(
    IBleTransportFactory factory,
    BleIngestion ingestion,
    BleBroadcaster broadcaster,
    LightFanout fanout,
    EscortKeyDelivery escortKeys,
    LightStore lights,
    BleMetrics metrics,
    IOptions<BleOptions> options,
    TimeProvider time,
    ILogger<BleRadio> logger) : BackgroundService
{
    public const string QueueFull = AlarmPipeline.QueueFull;

    private static readonly TimeSpan ReopenDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private readonly FairUplinkQueue<BleAdvertisementReport> _reports = new(options.Value.QueueCapacity, options.Value.DeviceBudget);

    // Wakes the consumer; the queue itself holds the reports.
    private readonly Channel<bool> _heard = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private IBleTransport? _transport;
    private DateTimeOffset _lastFlush;
    private bool _gaugesRegistered;

    public IBleTransport? Transport => _transport;

    /// <summary>Opens the radio and starts scanning; false when BLE is switched off.</summary>
    public async Task<bool> OpenAsync(CancellationToken cancellationToken)
    {
        await lights.LoadAsync(cancellationToken);
        if (!_gaugesRegistered)
        {
            _gaugesRegistered = true;
            metrics.Gateway.ObserveGauge("anshimi.gateway.ble.up", "{radio}", "1 while the BLE radio is open and working.", () => _transport?.State == BleTransportState.Ready ? 1 : 0);
            metrics.Gateway.ObserveGauge("anshimi.gateway.lights.pending", "{light}", "Lights with a light command in progress.", () => fanout.PendingCount);
        }

        IBleTransport? transport = factory.Create();
        if (transport is null)
        {
            return false;
        }

        transport.AdvertisementReceived += OnAdvertisement;
        transport.StateChanged += OnStateChanged;
        try
        {
            BleOptions ble = options.Value;
            await transport.StartScanningAsync(new BleScanParameters(ble.ScanInterval, ble.ScanWindow), cancellationToken);
        }
        catch
        {
            await CloseAsync(transport);
            throw;
        }

        _transport = transport;
        LogOpened(logger, transport.StateReason);
        return true;
    }

    /// <summary>Handles every advertisement queued so far; returns how many.</summary>
    public async Task<int> ProcessPendingAsync(CancellationToken cancellationToken)
    {
        int handled = 0;
        while (_reports.TryDequeue(out BleAdvertisementReport report))
        {
            try
            {
                await ingestion.HandleAsync(report, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage trouble: this copy is lost, the device's next advertisement tries again.
                metrics.Frame(AlarmPipeline.StoreFailed);
                LogIngestionFailed(logger, ex);
            }

            handled++;
        }

        return handled;
    }

    /// <summary>One dwell: light commands tick, the next downlink frame goes on air, light state is written now and then.</summary>
    public async Task StepAsync(CancellationToken cancellationToken)
    {
        await fanout.TickAsync(cancellationToken);
        await escortKeys.TickAsync(cancellationToken);
        if (_transport is { State: BleTransportState.Ready } transport)
        {
            await broadcaster.StepAsync(transport, cancellationToken);
        }

        DateTimeOffset now = time.GetUtcNow();
        if (now - _lastFlush >= FlushInterval)
        {
            _lastFlush = now;
            await lights.FlushAsync(cancellationToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_transport is not null)
        {
            await CloseAsync(_transport);
            _transport = null;
        }

        await lights.FlushAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!await TryOpenAsync(stoppingToken))
                {
                    LogDisabled(logger);
                    return;
                }

                if (_transport is null)
                {
                    await Task.Delay(ReopenDelay, time, stoppingToken);
                    continue;
                }

                await RunAsync(_transport, stoppingToken);
                LogFailed(logger, _transport.StateReason);
                await CloseAsync(_transport);
                _transport = null;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; StopAsync closes the radio.
        }
    }

    private static async Task CloseAsync(IBleTransport transport)
    {
        try
        {
            await transport.DisposeAsync();
        }
        catch (BleTransportException)
        {
            // Closing a broken radio: nothing more to do.
        }
    }

    /// <summary>False when BLE is off; true with no transport when opening failed (retried later).</summary>
    private async Task<bool> TryOpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await OpenAsync(cancellationToken);
        }
        catch (BleTransportException ex)
        {
            LogOpenFailed(logger, ex.Message, ReopenDelay.TotalSeconds);
            return true;
        }
    }

    /// <summary>Consumes and steps until cancelled or the transport fails.</summary>
    private async Task RunAsync(IBleTransport transport, CancellationToken stoppingToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        void OnFailed(object? sender, BleTransportStateChangedEventArgs e)
        {
            if (e.State != BleTransportState.Ready)
            {
                failed.Cancel();
            }
        }

        transport.StateChanged += OnFailed;
        try
        {
            Task consume = ConsumeAsync(failed.Token);
            Task step = StepLoopAsync(failed.Token);
            await Task.WhenAny(consume, step);
            await failed.CancelAsync();
            await Task.WhenAll(consume, step);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The transport failed: reopen.
        }
        finally
        {
            transport.StateChanged -= OnFailed;
        }
    }

    private async Task ConsumeAsync(CancellationToken cancellationToken)
    {
        while (await _heard.Reader.WaitToReadAsync(cancellationToken))
        {
            _heard.Reader.TryRead(out _);
            await ProcessPendingAsync(cancellationToken);
        }
    }

    private async Task StepLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.Dwell, time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                await StepAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A radio error marks the transport failed (and ends this run); anything else is logged and retried.
                LogStepFailed(logger, ex.Message);
                if (_transport is not { State: BleTransportState.Ready })
                {
                    return;
                }
            }
        }
    }

    private void OnAdvertisement(object? sender, BleAdvertisementReport report)
    {
        // Lanes go by the device id the frame claims, unverified yet (checked by the consumer); foreign traffic shares lane 0.
        uint claimed = BleAdvertisement.TryFindFrame(report.Data, 0, report.Data.Length, out int offset, out int length) && length >= FrameCodec.MinFrameLength
            ? FrameCodec.ReadDeviceId(report.Data, offset)
            : 0;
        if (_reports.TryEnqueue(claimed, report, out BleAdvertisementReport? displaced) is { } dropped)
        {
            metrics.Frame(dropped);
        }

        if (displaced is not null)
        {
            metrics.Frame(QueueFull);
        }

        _heard.Writer.TryWrite(true);
    }

    private void OnStateChanged(object? sender, BleTransportStateChangedEventArgs e) => LogState(logger, e.State, e.Reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE radio open: {Reason}")]
    private static partial void LogOpened(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE is switched off (Gateway:Ble:Transport = None): light commands will expire, BLE-only devices are not heard")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "BLE radio could not be opened, retrying in {DelaySeconds} s: {Error}")]
    private static partial void LogOpenFailed(ILogger logger, string error, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "BLE radio failed, reopening: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE radio {State}: {Reason}")]
    private static partial void LogState(ILogger logger, BleTransportState state, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "BLE advertisement could not be handled")]
    private static partial void LogIngestionFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BLE step failed: {Error}")]
    private static partial void LogStepFailed(ILogger logger, string error);
}
