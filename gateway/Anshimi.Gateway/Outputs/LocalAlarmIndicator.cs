using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Outputs;

/// <summary>
/// Drives the gateway box's outputs from stored state, so a restart picks up where it was: the strobe while an
/// alarm of a strobe event is unacknowledged by an operator, the siren likewise but for at most
/// <see cref="LocalOutputOptions.SirenMaxDuration"/> after the newest such alarm, and the status LED steady while
/// the broker session is up, blinking while it is down. Duress and silent panic never reach these outputs.
/// </summary>
public sealed partial class LocalAlarmIndicator(
    IGpioOutputs gpio,
    AlarmStore store,
    MqttSession mqtt,
    IOptions<LocalOutputOptions> options,
    TimeProvider time,
    ILogger<LocalAlarmIndicator> logger) : BackgroundService
{
    private const string Consumer = "anshimi-gateway";

    private readonly LocalOutputOptions _options = options.Value;
    private IGpioOutputLine? _siren;
    private IGpioOutputLine? _strobe;
    private IGpioOutputLine? _statusLed;
    private bool _blinkPhase;

    public bool SirenOn { get; private set; }

    public bool StrobeOn { get; private set; }

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
        _siren?.Write(siren);
        _strobe?.Write(strobe);
        _blinkPhase = !_blinkPhase;
        _statusLed?.Write(mqtt.State == MqttConnectionState.Connected || _blinkPhase);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (IGpioOutputLine? line in new[] { _siren, _strobe, _statusLed })
        {
            // Releasing a line returns it to its idle level: the siren does not outlive the service.
            line?.Dispose();
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

    private IGpioOutputLine? OpenLine(int line, bool activeLow) =>
        line < 0 ? null : gpio.Open(_options.Chip, line, activeLow, Consumer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local outputs: siren {Siren}, strobe {Strobe}")]
    private static partial void LogOutputs(ILogger logger, bool siren, bool strobe);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local outputs not refreshed: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}
