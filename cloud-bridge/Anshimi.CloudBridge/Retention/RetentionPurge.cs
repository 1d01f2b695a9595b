using System.Globalization;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Hosting;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Retention;

/// <summary>What one purge pass removed.</summary>
public sealed record RetentionResult(int ClosedAlarms, int Snapshots, int LocationTraces, long AuditEntries);

/// <summary>
/// Purges data past its retention period on an interval (first pass at start-up). Each purge that removed
/// something is audited with its count only — never what was removed.
/// </summary>
public sealed partial class RetentionPurge : BackgroundService
{
    public const string Actor = "retention";

    private readonly AlarmStore _alarms;
    private readonly AuditLog _audit;
    private readonly RetentionOptions _options;
    private readonly string _dataDirectory;
    private readonly TimeProvider _time;
    private readonly ILogger<RetentionPurge> _logger;

    public RetentionPurge(
        AlarmStore alarms, AuditLog audit, IOptions<RetentionOptions> options, IOptions<CloudBridgeOptions> bridge, TimeProvider time, ILogger<RetentionPurge> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bridge);
        _alarms = alarms;
        _audit = audit;
        _options = options.Value;
        _dataDirectory = bridge.Value.DataDirectory;
        _time = time;
        _logger = logger;
    }

    public async Task<RetentionResult> PurgeOnceAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        int alarms = await _alarms.PurgeResolvedBeforeAsync(now - _options.ClosedAlarms, cancellationToken);
        await AuditAsync("alarms", alarms, cancellationToken);
        int snapshots = await TablePurge.DeleteOlderThanAsync(
            Path.Combine(_dataDirectory, SqliteSnapshotReader.FileName), "snapshots", "received_at", now - _options.Snapshots, cancellationToken);
        await AuditAsync("snapshots", snapshots, cancellationToken);
        int traces = await TablePurge.DeleteOlderThanAsync(
            Path.Combine(_dataDirectory, _options.TracesDatabase), "location_traces", "recorded_at", now - _options.LocationTraces, cancellationToken);
        await AuditAsync("traces", traces, cancellationToken);
        long audit = await _audit.PurgeBeforeAsync(now - _options.AuditLog, Actor, cancellationToken);
        var result = new RetentionResult(alarms, snapshots, traces, audit);
        LogPurged(_logger, alarms, snapshots, traces, audit);
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

    private async Task AuditAsync(string what, int count, CancellationToken cancellationToken)
    {
        if (count > 0)
        {
            await _audit.AppendAsync(new AuditEntry(Actor, AuditAction.RetentionPurge, what, "", AuditOutcome.Done,
                "removed=" + count.ToString(CultureInfo.InvariantCulture)), cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purge: {Alarms} closed alarms, {Snapshots} snapshots, {Traces} location traces, {Audit} audit entries")]
    private static partial void LogPurged(ILogger logger, int alarms, int snapshots, int traces, long audit);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention purge failed; retrying at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
