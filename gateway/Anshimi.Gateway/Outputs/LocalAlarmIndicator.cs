using System.Device.Gpio;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Outputs;

/// <summary>
/// Drives the gateway box's outputs from stored state, so a restart picks up where it was: the strobe while an
/// alarm of a strobe event is unacknowledged by an operator, the siren likewise but for at most
/// <see cref="LocalOutputOptions.SirenMaxDuration"/> after the newest such alarm, and the status LED steady while
/// the broker session is up and the cloud reachable, blinking while the broker is down or the cloud has been
/// unreachable longer than <c>Cloud:UnreachableAfter</c> (alarms are still stored and indicated here). Duress and silent panic never reach these outputs.
/// The lines are driven through dotnet/iot's <see cref="GpioController"/>; the relays' active-low wiring is applied here.
/// </summary>
public sealed partial class LocalAlarmIndicator(
    GpioController gpio,
    AlarmStore store,
    MqttSession mqtt,
    CloudLinkStatus cloud,
    IOptions<LocalOutputOptions> options,
    TimeProvider time,
    ILogger<LocalAlarmIndicator> logger) : BackgroundService
{
    private readonly LocalOutputOptions _options = options.Value;
    private OutputLine? _siren;
    private OutputLine? _strobe;
    private OutputLine? _statusLed;
    private bool _blinkPhase;

    public bool SirenOn { get; private set; }

    public bool StrobeOn { get; private set; }

    /// <summary>The status LED blinks: the box's broker is down or the cloud unreachable.</summary>
    public bool StatusBlinking { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // A wrong pin number is a configuration error: fail at start, naming the line.
        _siren = OpenLine(_options.SirenLine, _options.RelaysActiveLow);
        _strobe = OpenLine(_options.StrobeLine, _options.RelaysActiveLow);
        _statusLed = OpenLine(_options.StatusLedLine, activeLow: false);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Reads the open alarms and sets every output once.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        IReadOnlyList<(int Code, DateTimeOffset Newest)> open = await store.GetUnacknowledgedAlarmsAsync(now - _options.OpenAlarmWindow, cancellationToken);
        bool strobe = open.Any(a => _options.StrobeEvents.Contains(a.Code));
        bool siren = open.Any(a => _options.SirenEvents.Contains(a.Code) && now - a.Newest < _options.SirenMaxDuration);
        if (siren != SirenOn || strobe != StrobeOn)
        {
            LogOutputs(logger, siren, strobe);
        }

        SirenOn = siren;
        StrobeOn = strobe;
        Write(_siren, siren);
        Write(_strobe, strobe);
        _blinkPhase = !_blinkPhase;
        bool blinking = mqtt.State != MqttConnectionState.Connected || cloud.IsUnreachable;
        if (blinking != StatusBlinking)
        {
            LogStatusLed(logger, blinking ? "blinking (broker down or cloud unreachable)" : "steady");
        }

        StatusBlinking = blinking;
        Write(_statusLed, !blinking || _blinkPhase);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (OutputLine? line in new[] { _siren, _strobe, _statusLed })
        {
            if (line is { } open && gpio.IsPinOpen(open.Line))
            {
                // A released line keeps its last level on the Pi: set it idle first, so the siren does not outlive the service.
                Write(open, false);
                gpio.ClosePin(open.Line);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PollInterval, time);
        try
        {
            do
            {
                try
                {
                    await RefreshAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRefreshFailed(logger, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private OutputLine? OpenLine(int line, bool activeLow)
    {
        if (line < 0)
        {
            return null;
        }

        try
        {
            gpio.OpenPin(line, PinMode.Output, Level(activeLow, false));
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            throw new GpioException($"GPIO line {line} of gpiochip{_options.Chip} cannot be requested as an output (in use?): {ex.Message}", ex);
        }

        return new OutputLine(line, activeLow);
    }

    private void Write(OutputLine? line, bool active)
    {
        if (line is { } open)
        {
            gpio.Write(open.Line, Level(open.ActiveLow, active));
        }
    }

    private static PinValue Level(bool activeLow, bool active) => active != activeLow ? PinValue.High : PinValue.Low;

    private readonly record struct OutputLine(int Line, bool ActiveLow);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local outputs: siren {Siren}, strobe {Strobe}")]
    private static partial void LogOutputs(ILogger logger, bool siren, bool strobe);

    [LoggerMessage(Level = LogLevel.Information, Message = "Status LED {Mode}")]
    private static partial void LogStatusLed(ILogger logger, string mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local outputs not refreshed: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}
