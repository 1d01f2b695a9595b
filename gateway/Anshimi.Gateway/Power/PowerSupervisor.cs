using Anshimi.Gateway.Health;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Power;

/// <summary>
/// Watches the box's UPS battery every <see cref="PowerOptions.Interval"/>. Mains lost and restored (Contact ID 301,
/// qualifier 1 / 3) and low battery and its restore (302) are sent upstream as the gateway's own troubles, each
/// once a change has held for <see cref="PowerOptions.Debounce"/>. On battery at <see cref="PowerOptions.CriticalVolts"/>
/// it reports 308 (system shutdown), flushes the stores and powers the box off, once. A sensor that stops
/// answering is itself a trouble (330), restored when it answers again; it never stops the gateway.
/// </summary>
public sealed partial class PowerSupervisor(
    UpsBattery battery,
    TroubleOutbox troubles,
    DeviceHealthTracker health,
    CleanShutdown shutdown,
    IOptions<PowerOptions> options,
    TimeProvider time,
    ILogger<PowerSupervisor> logger) : BackgroundService
{
    private readonly PowerOptions _options = options.Value;
    private readonly Debounced _mainsLost = new(options.Value.Debounce);
    private readonly Debounced _lowBattery = new(options.Value.Debounce);
    private readonly Debounced _critical = new(options.Value.Debounce);
    private int _failuresInRow;
    private bool _sensorTrouble;

    public bool MainsLost => _mainsLost.State;

    public bool LowBattery => _lowBattery.State;

    public bool SensorTrouble => _sensorTrouble;

    public bool ShutdownStarted { get; private set; }

    /// <summary>The latest good reading; null before the first.</summary>
    public BatteryReading? Last { get; private set; }

    /// <summary>Reads the battery once and acts on what changed.</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        BatteryReading reading;
        try
        {
            reading = battery.Read();
        }
        catch (PowerSensorException ex)
        {
            _failuresInRow++;
            LogSensorFailed(logger, _failuresInRow, ex.Message);
            if (_failuresInRow >= _options.SensorFailures && !_sensorTrouble)
            {
                _sensorTrouble = true;
                Raise(ContactIdCode.SystemPeripheralTrouble, ContactIdQualifier.NewEvent);
            }

            return;
        }

        _failuresInRow = 0;
        if (Last is null)
        {
            LogFirstReading(logger, reading.Volts, reading.Amperes);
        }

        Last = reading;
        if (_sensorTrouble)
        {
            _sensorTrouble = false;
            Raise(ContactIdCode.SystemPeripheralTrouble, ContactIdQualifier.Restore);
        }

        bool onBattery = reading.Amperes <= -_options.MainsLostAmperes;
        if (_mainsLost.Update(onBattery, now))
        {
            LogMains(logger, onBattery, reading.Volts, reading.Amperes);
            Raise(ContactIdCode.AcLoss, onBattery ? ContactIdQualifier.NewEvent : ContactIdQualifier.Restore);
        }

        // Hysteresis: once low, the pack must recover past the restore level, so a sag under load does not flap.
        bool low = reading.Volts < (_lowBattery.State ? _options.LowBatteryRestoreVolts : _options.LowBatteryVolts);
        if (_lowBattery.Update(low, now))
        {
            LogLowBattery(logger, low, reading.Volts);
            Raise(ContactIdCode.LowBattery, low ? ContactIdQualifier.NewEvent : ContactIdQualifier.Restore);
        }

        if (_critical.Update(onBattery && reading.Volts <= _options.CriticalVolts, now) && _critical.State && !ShutdownStarted)
        {
            ShutdownStarted = true;
            LogCritical(logger, reading.Volts);
            Raise(ContactIdCode.SystemShutdown, ContactIdQualifier.NewEvent);
            await shutdown.RunAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, time);
        try
        {
            do
            {
                try
                {
                    await SampleAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSampleFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private void Raise(ushort code, byte qualifier)
    {
        health.ObserveEvent(TroubleOutbox.GatewayDeviceId, code, qualifier);
        troubles.Enqueue(TroubleOutbox.GatewayDeviceId, code, qualifier);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "UPS: battery {Volts:0.00} V, {Amperes:0.000} A (positive: charging)")]
    private static partial void LogFirstReading(ILogger logger, double volts, double amperes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "UPS: mains lost {Lost} ({Volts:0.00} V, {Amperes:0.000} A)")]
    private static partial void LogMains(ILogger logger, bool lost, double volts, double amperes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "UPS: battery low {Low} ({Volts:0.00} V)")]
    private static partial void LogLowBattery(ILogger logger, bool low, double volts);

    [LoggerMessage(Level = LogLevel.Critical, Message = "UPS: battery critical on battery power ({Volts:0.00} V): shutting down")]
    private static partial void LogCritical(ILogger logger, double volts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "UPS: reading failed ({Count} in a row): {Error}")]
    private static partial void LogSensorFailed(ILogger logger, int count, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "UPS: supervision round failed")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);

    /// <summary>A condition whose reported state changes only after the new raw value has held for the hold time.</summary>
    private sealed class Debounced(TimeSpan hold)
    {
        private DateTimeOffset? _since;

        public bool State { get; private set; }

        /// <summary>True when the reported state changed.</summary>
        public bool Update(bool raw, DateTimeOffset now)
        {
            if (raw == State)
            {
                _since = null;
                return false;
            }

            _since ??= now;
            if (now - _since.Value < hold)
            {
                return false;
            }

            State = raw;
            _since = null;
            return true;
        }
    }
}
