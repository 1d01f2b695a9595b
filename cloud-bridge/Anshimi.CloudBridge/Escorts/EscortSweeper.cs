using Anshimi.CloudBridge.Alarms;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// Keeps lights honest over time: resumes sessions and emergencies after a restart, times out silent
/// sessions, repeats escort for held lights, and follows operators' actions on app emergency alarms.
/// </summary>
public sealed partial class EscortSweeper : BackgroundService
{
    private readonly EscortSessions _sessions;
    private readonly EmergencyReports _emergencies;
    private readonly AlarmFeed _feed;
    private readonly EscortOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EscortSweeper> _logger;

    public EscortSweeper(
        EscortSessions sessions, EmergencyReports emergencies, AlarmFeed feed, IOptions<EscortOptions> options, TimeProvider time, ILogger<EscortSweeper> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _sessions = sessions;
        _emergencies = emergencies;
        _feed = feed;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Resumes stored sessions before the app API serves requests for them.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await _sessions.RestoreAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(SweepAsync(stoppingToken), FollowAlarmsAsync(stoppingToken));
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.SweepInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                await _sessions.SweepAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(_logger, ex);
            }
        }
    }

    private async Task FollowAlarmsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // Subscribe before reconciling, so nothing that happens in between is missed.
            using AlarmSubscription subscription = _feed.Subscribe();
            try
            {
                await _emergencies.ReconcileAsync(cancellationToken);
                await foreach (AlarmFeedEvent feedEvent in subscription.Reader.ReadAllAsync(cancellationToken))
                {
                    if (feedEvent.Kind == AlarmFeedEvent.Updated)
                    {
                        await _emergencies.OnOperatorActionAsync(feedEvent.Alarm, cancellationToken);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFollowFailed(_logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken);
            }

            // The feed cut us off for falling behind (or failed): reconcile and listen again.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Escort sweep failed; retrying at the next tick")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Following alarm updates for emergency lights failed; reconciling again")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
