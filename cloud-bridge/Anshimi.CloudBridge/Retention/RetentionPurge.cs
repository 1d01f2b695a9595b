using System.Globalization;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Snapshots;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Retention;

/// <summary>What one purge pass removed, table by table.</summary>
public sealed record RetentionResult(
    int ClosedAlarms, int UnresolvedAlarms, int TestAlarms, int Snapshots, int LocationTraces, int EscortSessions, int Emergencies, long AuditEntries);

/// <summary>
/// Purges data past its retention period on an interval (first pass at start-up), each table through the store that
/// owns it. Each purge that removed something is audited with its count only — never what was removed.
/// </summary>
public sealed partial class RetentionPurge : BackgroundService
{
    public const string Actor = "retention";

    private readonly AlarmStore _alarms;
    private readonly CloudSnapshotStore _snapshots;
    private readonly EscortStore _escorts;
    private readonly AuditLog _audit;
    private readonly RetentionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RetentionPurge> _logger;
    private long _lastPassTicks = -1;

    public RetentionPurge(
        AlarmStore alarms,
        CloudSnapshotStore snapshots,
        EscortStore escorts,
        AuditLog audit,
        IOptions<RetentionOptions> options,
        TimeProvider time,
        ILogger<RetentionPurge> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _alarms = alarms;
        _snapshots = snapshots;
        _escorts = escorts;
        _audit = audit;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>When the last pass finished (null before the first), for the retention report.</summary>
    public DateTimeOffset? LastPassAt
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastPassTicks);
            return ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public async Task<RetentionResult> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        var result = new RetentionResult(
            await AuditedAsync(RetentionTables.ClosedAlarms, _alarms.PurgeBeforeAsync(AlarmRetention.Resolved, now - _options.ClosedAlarms, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.UnresolvedAlarms, _alarms.PurgeBeforeAsync(AlarmRetention.Unresolved, now - _options.UnresolvedAlarms, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.TestAlarms, _alarms.PurgeBeforeAsync(AlarmRetention.Test, now - _options.TestAlarms, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.Snapshots, _snapshots.PurgeReceivedBeforeAsync(now - _options.Snapshots, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.LocationTraces, _escorts.PurgeTracesBeforeAsync(now - _options.LocationTraces, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.EscortSessions, _escorts.PurgeEndedSessionsBeforeAsync(now - _options.EscortSessions, cancellationToken), cancellationToken),
            await AuditedAsync(RetentionTables.Emergencies, _escorts.PurgeReleasedEmergenciesBeforeAsync(now - _options.Emergencies, cancellationToken), cancellationToken),
            await _audit.PurgeBeforeAsync(now - _options.AuditLog, Actor, cancellationToken));
        Interlocked.Exchange(ref _lastPassTicks, _time.GetUtcNow().UtcTicks);
        LogPurged(_logger, result);
        return result;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        do
        {
            try
            {
                await PurgeOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPurgeFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<int> AuditedAsync(string table, Task<int> purge, CancellationToken cancellationToken)
    {
        int count = await purge;
        if (count > 0)
        {
            await _audit.AppendAsync(new AuditEntry(Actor, AuditAction.RetentionPurge, table, "", AuditOutcome.Done,
                "removed=" + count.ToString(CultureInfo.InvariantCulture)), cancellationToken);
        }

        return count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purge: {Result}")]
    private static partial void LogPurged(ILogger logger, RetentionResult result);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; retrying at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
