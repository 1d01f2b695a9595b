using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Retention;

/// <summary>
/// Deletes the gateway's alarm and trouble records once their retention has passed and the cloud has
/// them (privacy: a gateway is not an archive; the cloud bridge keeps the record). A purged alarm
/// leaves its device's replay floor behind, so a resend of it is refused, not taken for a lost alarm.
/// </summary>
public sealed partial class RetentionSweeper(
    AlarmStore alarms,
    HealthStore troubles,
    GatewayMetrics metrics,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionSweeper> logger) : RecordSweeper(options.Value.SweepInterval, time)
{
    /// <summary>One purge; returns how many alarms and troubles went.</summary>
    public async Task<(int Alarms, int Troubles)> SweepAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = Time.GetUtcNow();
        int purgedAlarms = await alarms.PurgeAsync(now - options.Value.Alarms, cancellationToken);
        int purgedTroubles = await troubles.PurgeTroublesAsync(now - options.Value.Troubles, cancellationToken);
        metrics.RecordsPurged("alarm", purgedAlarms);
        metrics.RecordsPurged("trouble", purgedTroubles);
        if (purgedAlarms + purgedTroubles > 0)
        {
            LogPurged(logger, purgedAlarms, purgedTroubles);
        }

        return (purgedAlarms, purgedTroubles);
    }

    protected override Task SweepOnceAsync(CancellationToken cancellationToken) => SweepAsync(cancellationToken);

    protected override void OnSweepFailed(Exception exception) => LogSweepFailed(logger, exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: {Alarms} alarm(s) and {Troubles} trouble(s) past their period deleted")]
    private static partial void LogPurged(ILogger logger, int alarms, int troubles);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; trying again next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
