using System.Data.Common;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Mqtt;
using Npgsql;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// PostgreSQL only: tells every bridge instance sharing the database that an alarm was stored or changed, by a
/// <c>NOTIFY</c> in the very transaction that writes it, so a notice never announces a write that did not commit.
/// </summary>
public sealed class AlarmChangeNotices(string instanceId) : IAlarmStoreHook
{
    public const string Channel = "anshimi_alarms";

    public string InstanceId { get; } = instanceId;

    public Task OnNewAlarmAsync(DbConnection connection, string key, CancellationToken cancellationToken) =>
        NotifyAsync(connection, AlarmFeedEvent.NewAlarm, key, cancellationToken);

    public void AlarmCommitted(string key)
    {
    }

    public Task OnAlarmChangedAsync(DbConnection connection, string key, CancellationToken cancellationToken) =>
        NotifyAsync(connection, AlarmFeedEvent.Updated, key, cancellationToken);

    /// <summary>"kind instance key": the key last, as it is the one part not chosen here.</summary>
    public static bool TryParse(string payload, out string kind, out string instance, out string key)
    {
        string[] parts = payload.Split(' ', 3);
        (kind, instance, key) = parts.Length == 3 ? (parts[0], parts[1], parts[2]) : ("", "", "");
        return parts.Length == 3 && kind is AlarmFeedEvent.NewAlarm or AlarmFeedEvent.Updated && key.Length > 0;
    }

    private async Task NotifyAsync(DbConnection connection, string kind, string key, CancellationToken cancellationToken)
    {
        await using DbCommand notify = StoreDatabase.Command(
            connection, "SELECT pg_notify(@channel, @payload);", ("channel", Channel), ("payload", kind + " " + InstanceId + " " + key));
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>
/// PostgreSQL only: one listening connection per instance that republishes to the local <see cref="AlarmFeed"/> what the
/// other instances stored or changed (this instance's own writes it has published already). The connection reconnects
/// by <see cref="ReconnectBackoff"/>; on every reconnect it reloads the alarms whose timeline grew while it was away,
/// so a console here misses nothing that happened during the gap.
/// </summary>
public sealed partial class AlarmChangeListener(
    StorageOptions storage,
    AlarmChangeNotices notices,
    AlarmStore store,
    DistrictDirectory districts,
    AlarmFeed feed,
    ReconnectBackoffOptions reconnect,
    ILogger<AlarmChangeListener> logger) : BackgroundService
{
    // Timeline ids are handed out before commit: a write in flight when the connection dropped may hold an id a
    // little below the high-water mark read on the last connection, so the reload reaches this far back.
    private const long InFlightMargin = 1000;

    // While nothing arrives, the connection is checked (and the high-water mark moved) this often.
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(10);

    private long _connections;

    /// <summary>Listening connections opened so far (a reconnect counts one more).</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>The listening connection's <c>application_name</c>.</summary>
    public static string ListenerName(string instanceId) => "anshimi-listen-" + instanceId;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = new ReconnectBackoff(reconnect);
        long? seen = null;

        // A database outage is reported once with its cause; the attempts that follow it only at Debug.
        bool outageReported = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Named, so an operator sees in pg_stat_activity which instance listens where; unpooled, as it lives
                // as long as it works and a broken one must not go back to a pool.
                var connectionString = new NpgsqlConnectionStringBuilder(storage.ConnectionString)
                {
                    ApplicationName = ListenerName(notices.InstanceId),
                    Pooling = false,
                };
                await using var connection = new NpgsqlConnection(connectionString.ConnectionString);
                var arrived = new Queue<string>();
                connection.Notification += (_, e) => arrived.Enqueue(e.Payload);
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand("LISTEN " + AlarmChangeNotices.Channel + ";", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Counted once listening, before the reload publishes what was missed, so a count read after a
                // reloaded alarm arrives already includes this connection.
                Interlocked.Increment(ref _connections);

                // Listening before reading the mark: whatever commits after it is heard, whatever before it is reloaded.
                long mark = await HighWaterMarkAsync(connection, stoppingToken);
                if (seen is long since)
                {
                    await ReloadAsync(since - InFlightMargin, stoppingToken);
                }

                seen = mark;
                backoff.Connected();
                outageReported = false;
                LogListening(logger, notices.InstanceId);
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(IdleCheck, stoppingToken))
                    {
                        seen = await HighWaterMarkAsync(connection, stoppingToken);
                    }

                    while (arrived.TryDequeue(out string? payload))
                    {
                        await RepublishAsync(payload, stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                TimeSpan delay = backoff.NextDelay();
                if (outageReported)
                {
                    LogStillNotListening(logger, ex.Message, delay.TotalMilliseconds);
                }
                else
                {
                    outageReported = true;
                    LogListenLost(logger, ex, delay.TotalMilliseconds);
                }

                await Task.Delay(delay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task RepublishAsync(string payload, CancellationToken cancellationToken)
    {
        if (!AlarmChangeNotices.TryParse(payload, out string kind, out string instance, out string key))
        {
            LogBadNotice(logger, payload);
            return;
        }

        if (instance == notices.InstanceId)
        {
            return;
        }

        if (await store.FindAsync(key, cancellationToken) is { } alarm)
        {
            feed.Publish(new AlarmFeedEvent(kind, AlarmView.From(alarm, districts)));
        }
    }

    private async Task ReloadAsync(long since, CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Key, bool Received)> changed = await store.ChangedSinceAsync(since, cancellationToken);
        foreach ((string key, bool received) in changed)
        {
            if (await store.FindAsync(key, cancellationToken) is { } alarm)
            {
                feed.Publish(new AlarmFeedEvent(received ? AlarmFeedEvent.NewAlarm : AlarmFeedEvent.Updated, AlarmView.From(alarm, districts)));
            }
        }

        LogReloaded(logger, changed.Count);
    }

    private static async Task<long> HighWaterMarkAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var query = new NpgsqlCommand("SELECT COALESCE(MAX(id), 0) FROM timeline;", connection);
        return Convert.ToInt64(await query.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} listens for alarms stored or changed by the other instances")]
    private static partial void LogListening(ILogger logger, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for other instances' alarms stopped; reconnecting in {DelayMs} ms")]
    private static partial void LogListenLost(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listening for other instances' alarms not reopened: {Reason}; trying again in {DelayMs} ms")]
    private static partial void LogStillNotListening(ILogger logger, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded {Count} alarms changed while not listening")]
    private static partial void LogReloaded(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an alarm notice that is not 'kind instance key': {Payload}")]
    private static partial void LogBadNotice(ILogger logger, string payload);
}
