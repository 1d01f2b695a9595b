using Anshimi.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Snapshots;

/// <summary>
/// Gives up snapshots left incomplete past <see cref="SnapshotOptions.IncompleteExpiry"/> (counted) and deletes
/// stored images past <see cref="SnapshotOptions.Retention"/> once nothing waits for them (privacy: records end
/// with their retention period).
/// </summary>
public sealed partial class SnapshotSweeper(
    SnapshotStore store,
    SnapshotMetrics metrics,
    IOptions<SnapshotOptions> options,
    TimeProvider time,
    ILogger<SnapshotSweeper> logger) : RecordSweeper(options.Value.SweepInterval, time)
{
    /// <summary>One sweep; returns the number of incomplete snapshots expired.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = Time.GetUtcNow();
        int expired = await store.ExpireIncompleteAsync(now - options.Value.IncompleteExpiry, cancellationToken);
        if (expired > 0)
        {
            metrics.Expired(expired);
            LogExpired(logger, expired);
        }

        await store.PurgeImagesAsync(now - options.Value.Retention, cancellationToken);
        return expired;
    }

    protected override Task SweepOnceAsync(CancellationToken cancellationToken) => SweepAsync(cancellationToken);

    protected override void OnSweepFailed(Exception exception) => LogSweepFailed(logger, exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} incomplete snapshot(s) expired; their chunks were deleted")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Snapshot sweep failed; trying again next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
